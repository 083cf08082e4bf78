package io.parley.client;

/** The latest durable receipt markers of one member of a conversation (0 when none yet). */
public record ReceiptMarkers(String user, long delivered, long read) {}
