package io.parley.conversation;

import io.parley.identity.DeviceAddress;
import io.parley.protocol.ReceiptKind;
import java.util.Collection;
import java.util.List;
import java.util.Map;

/** Where a conversation sends what it has persisted; implemented by the per-user inboxes. */
public interface ConversationFanout {

  /** A persisted event: every device of every user in {@code audience} should see it. */
  void published(ConversationEvent event, Collection<String> audience);

  /** After recovery: each member's inbox must list the conversation from the seq they joined at (idempotent). */
  void membersPresent(String conversationId, Map<String, Long> joinedAt);

  /** An ephemeral typing notice for the live devices of {@code audience}. */
  void typing(String conversationId, DeviceAddress from, boolean active, Collection<String> audience);

  /** Ciphertexts, each for the one device it names, if that device is online; nothing is stored. */
  void ephemeral(String conversationId, DeviceAddress from, List<SealedEnvelope> envelopes);

  /**
   * {@code reader} has received or seen everything up to {@code seq}: its inbox keeps the marker and tells
   * the live devices of {@code audience} when it advances.
   */
  void receipt(String conversationId, String reader, ReceiptKind kind, long seq, Collection<String> audience);

  ConversationFanout NONE = new ConversationFanout() {
    @Override public void published(ConversationEvent event, Collection<String> audience) {}
    @Override public void membersPresent(String conversationId, Map<String, Long> joinedAt) {}
    @Override public void typing(String conversationId, DeviceAddress from, boolean active, Collection<String> audience) {}
    @Override public void ephemeral(String conversationId, DeviceAddress from, List<SealedEnvelope> envelopes) {}
    @Override public void receipt(String conversationId, String reader, ReceiptKind kind, long seq,
                                  Collection<String> audience) {}
  };
}
