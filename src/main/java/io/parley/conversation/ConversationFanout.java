package io.parley.conversation;

import io.parley.identity.DeviceAddress;
import io.parley.protocol.ReceiptKind;
import java.util.Collection;
import java.util.List;
import java.util.Map;

/**
 * Where a conversation sends what it has persisted and the notices it passes on: straight to the device
 * sessions that need them, and to the members' inboxes only for membership. A port, so that the
 * conversation does not know the entities that implement it.
 */
public interface ConversationFanout {

  /**
   * A persisted message: each recipient device gets only its own envelope; the sending device gets the seq
   * alone (its client has it from the ack), so that its session knows the seq is not missing.
   *
   * @param joinedAt the seq from which each member sees the conversation
   */
  void message(String conversationId, long seq, Conversation.MessagePosted message, Map<String, Long> joinedAt);

  /** A persisted membership change: the inbox of every user in {@code audience}, which tells their devices. */
  void membership(ConversationEvent event, Collection<String> audience);

  /** After recovery: each member's inbox must list the conversation from the seq they joined at (idempotent). */
  void membersPresent(String conversationId, Map<String, Long> joinedAt);

  /** An ephemeral typing notice for the live devices of {@code audience}, except the typing device. */
  void typing(String conversationId, DeviceAddress from, boolean active, Collection<String> audience);

  /** Ciphertexts, each for the one device it names, if that device is online; nothing is stored. */
  void ephemeral(String conversationId, DeviceAddress from, List<SealedEnvelope> envelopes);

  /**
   * {@code reader} has received or seen everything up to {@code seq}: its inbox keeps the marker, and the live
   * devices of {@code audience} are told.
   */
  void receipt(String conversationId, String reader, ReceiptKind kind, long seq, Collection<String> audience);

  ConversationFanout NONE = new ConversationFanout() {
    @Override public void message(String conversationId, long seq, Conversation.MessagePosted message,
                                  Map<String, Long> joinedAt) {}
    @Override public void membership(ConversationEvent event, Collection<String> audience) {}
    @Override public void membersPresent(String conversationId, Map<String, Long> joinedAt) {}
    @Override public void typing(String conversationId, DeviceAddress from, boolean active, Collection<String> audience) {}
    @Override public void ephemeral(String conversationId, DeviceAddress from, List<SealedEnvelope> envelopes) {}
    @Override public void receipt(String conversationId, String reader, ReceiptKind kind, long seq,
                                  Collection<String> audience) {}
  };
}
