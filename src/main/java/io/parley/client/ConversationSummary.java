package io.parley.client;

/** A conversation the user is in; {@code fromSeq} is the first seq the user sees. */
public record ConversationSummary(String conversationId, long fromSeq) {}
