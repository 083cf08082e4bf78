package io.parley.conversation;

import io.parley.identity.DeviceAddress;
import io.parley.protocol.ReceiptKind;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;

/** Remembers everything a conversation hands to its fan-out, in order. */
final class RecordingFanout implements ConversationFanout {
  /** A message or a membership change; for messages, the audience is every member (as the joinedAt map). */
  record Published(ConversationEvent event, List<String> audience, Map<String, Long> joinedAt) {}

  record Present(String conversationId, Map<String, Long> joinedAt) {}

  record TypingSent(String conversationId, DeviceAddress from, boolean active, List<String> audience) {}

  record ReceiptSent(String conversationId, String reader, ReceiptKind kind, long seq, List<String> audience) {}

  record EphemeralSent(String conversationId, DeviceAddress from, List<SealedEnvelope> envelopes) {}

  final List<EphemeralSent> ephemerals = new CopyOnWriteArrayList<>();
  final List<ReceiptSent> receipts = new CopyOnWriteArrayList<>();
  final List<Published> published = new CopyOnWriteArrayList<>();
  final List<Present> present = new CopyOnWriteArrayList<>();
  final List<TypingSent> typing = new CopyOnWriteArrayList<>();

  @Override
  public void message(String conversationId, long seq, Conversation.MessagePosted message,
                      Map<String, Long> joinedAt) {
    published.add(new Published(new ConversationEvent(conversationId, seq, message), List.copyOf(joinedAt.keySet()),
        Map.copyOf(joinedAt)));
  }

  @Override
  public void membership(ConversationEvent event, Collection<String> audience) {
    published.add(new Published(event, List.copyOf(audience), Map.of()));
  }

  @Override
  public void membersPresent(String conversationId, Map<String, Long> joinedAt) {
    present.add(new Present(conversationId, Map.copyOf(joinedAt)));
  }

  @Override
  public void typing(String conversationId, DeviceAddress from, boolean active, Collection<String> audience) {
    typing.add(new TypingSent(conversationId, from, active, List.copyOf(audience)));
  }

  @Override
  public void ephemeral(String conversationId, DeviceAddress from, List<SealedEnvelope> envelopes) {
    ephemerals.add(new EphemeralSent(conversationId, from, List.copyOf(envelopes)));
  }

  @Override
  public void receipt(String conversationId, String reader, ReceiptKind kind, long seq, Collection<String> audience) {
    receipts.add(new ReceiptSent(conversationId, reader, kind, seq, List.copyOf(audience)));
  }

  Published lastPublished() {
    return published.get(published.size() - 1);
  }
}
