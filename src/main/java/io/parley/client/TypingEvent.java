package io.parley.client;

/** Another participant's device started or stopped typing. */
public record TypingEvent(String conversationId, String user, int device, boolean active) {}
