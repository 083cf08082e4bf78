package io.parley.inbox;

import io.parley.conversation.ConversationEvent;
import io.parley.conversation.ConversationFanout;
import io.parley.conversation.SealedEnvelope;
import io.parley.identity.DeviceAddress;
import io.parley.protocol.ReceiptKind;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import org.apache.pekko.cluster.sharding.typed.javadsl.ClusterSharding;

/** Fans conversation events out to the inbox of every user in the audience. */
public final class InboxFanout implements ConversationFanout {
  private final ClusterSharding sharding;

  public InboxFanout(ClusterSharding sharding) {
    this.sharding = sharding;
  }

  @Override
  public void published(ConversationEvent event, Collection<String> audience) {
    Inbox.Deliver deliver = new Inbox.Deliver(event);
    audience.forEach(user -> sharding.entityRefFor(Inbox.ENTITY_KEY, user).tell(deliver));
  }

  @Override
  public void membersPresent(String conversationId, Map<String, Long> joinedAt) {
    joinedAt.forEach((user, fromSeq) ->
        sharding.entityRefFor(Inbox.ENTITY_KEY, user).tell(new Inbox.MemberOf(conversationId, fromSeq)));
  }

  @Override
  public void typing(String conversationId, DeviceAddress from, boolean active, Collection<String> audience) {
    Inbox.Typing typing = new Inbox.Typing(conversationId, from, active);
    audience.forEach(user -> sharding.entityRefFor(Inbox.ENTITY_KEY, user).tell(typing));
  }

  @Override
  public void ephemeral(String conversationId, DeviceAddress from, List<SealedEnvelope> envelopes) {
    Map<String, List<SealedEnvelope>> byUser = envelopes.stream()
        .collect(Collectors.groupingBy(SealedEnvelope::user, LinkedHashMap::new, Collectors.toList()));
    byUser.forEach((user, own) -> sharding.entityRefFor(Inbox.ENTITY_KEY, user)
        .tell(new Inbox.Ephemeral(conversationId, from, List.copyOf(own))));
  }

  @Override
  public void receipt(String conversationId, String reader, ReceiptKind kind, long seq, Collection<String> audience) {
    sharding.entityRefFor(Inbox.ENTITY_KEY, reader)
        .tell(new Inbox.MarkReceipt(conversationId, kind, seq, List.copyOf(audience)));
  }
}
