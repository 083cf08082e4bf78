package io.parley.client;

/** An account and token from a node's development token endpoint (embedded profile only). */
public record DevAccount(String handle, String accountId, String token) {}
