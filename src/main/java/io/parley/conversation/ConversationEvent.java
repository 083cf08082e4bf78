package io.parley.conversation;

import io.parley.serialization.CborSerializable;

/** A persisted conversation event with its seq: what live delivery and history reads both carry. */
public record ConversationEvent(String conversationId, long seq, Conversation.Event event) implements CborSerializable {}
