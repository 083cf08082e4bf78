package io.parley.session;

import io.parley.conversation.Conversation;
import io.parley.conversation.ConversationEvent;
import io.parley.conversation.ConversationFanout;
import io.parley.conversation.SealedEnvelope;
import io.parley.directory.DeviceDirectory;
import io.parley.identity.DeviceAddress;
import io.parley.inbox.Inbox;
import io.parley.protocol.ReceiptKind;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.function.IntConsumer;
import org.apache.pekko.cluster.sharding.typed.javadsl.ClusterSharding;
import org.apache.pekko.cluster.sharding.typed.javadsl.EntityRef;

/**
 * A conversation's fan-out, straight to device sessions: one tell per recipient device, carrying that
 * device's envelope only. Messages name their recipient devices (the conversation has checked them against
 * the key directory); typing and receipt notices go to the devices of the account's cached device list.
 * Membership changes go through the members' inboxes, which keep them and pass them on to their devices.
 */
public final class SessionFanout implements ConversationFanout {
  private final ClusterSharding sharding;
  private final DeviceDirectory directory;

  public SessionFanout(ClusterSharding sharding, DeviceDirectory directory) {
    this.sharding = sharding;
    this.directory = directory;
  }

  @Override
  public void message(String conversationId, long seq, Conversation.MessagePosted message,
                      Map<String, Long> joinedAt) {
    for (SealedEnvelope envelope : message.envelopes()) {
      Conversation.MessagePosted own = new Conversation.MessagePosted(message.sender(), message.idempotencyKey(),
          List.of(envelope), message.at());
      session(envelope.recipient()).tell(new DeviceSession.Deliver(new ConversationEvent(conversationId, seq, own),
          joinedAt.getOrDefault(envelope.user(), 1L)));
    }
    DeviceAddress sender = message.sender();
    session(sender).tell(new DeviceSession.OwnSent(conversationId, seq, joinedAt.getOrDefault(sender.user(), 1L)));
  }

  /** Through the inboxes, which keep the membership and hand the event to their user's devices. */
  @Override
  public void membership(ConversationEvent event, Collection<String> audience) {
    Inbox.MembershipChanged changed = new Inbox.MembershipChanged(event);
    audience.forEach(user -> inbox(user).tell(changed));
  }

  @Override
  public void membersPresent(String conversationId, Map<String, Long> joinedAt) {
    joinedAt.forEach((user, fromSeq) -> inbox(user).tell(new Inbox.MemberOf(conversationId, fromSeq)));
  }

  @Override
  public void typing(String conversationId, DeviceAddress from, boolean active, Collection<String> audience) {
    DeviceSession.TypingNotice notice = new DeviceSession.TypingNotice(conversationId, from, active);
    for (String user : audience) {
      eachDevice(user, device -> {
        DeviceAddress address = new DeviceAddress(user, device);
        if (!address.equals(from)) {
          session(address).tell(notice);
        }
      });
    }
  }

  /**
   * Only to devices the account has, so an envelope for any other device number wakes no session. A device
   * the node's cached list does not have is confirmed with the directory first (the cache may be behind a
   * device that registered a moment ago), as a post's device check does (ADR 0009).
   */
  @Override
  public void ephemeral(String conversationId, DeviceAddress from, List<SealedEnvelope> envelopes) {
    Map<String, List<SealedEnvelope>> byUser = new LinkedHashMap<>();
    envelopes.forEach(envelope -> byUser.computeIfAbsent(envelope.user(), user -> new ArrayList<>()).add(envelope));
    byUser.forEach((user, own) -> directory.cachedDevices(user).thenCompose(cached ->
            own.stream().allMatch(envelope -> cached.devices().contains(envelope.device()))
                ? CompletableFuture.completedFuture(cached)
                : directory.devices(user))
        .thenAccept(list -> own.forEach(envelope -> {
          if (list.devices().contains(envelope.device())) {
            session(envelope.recipient()).tell(new DeviceSession.EphemeralNotice(conversationId, from, envelope));
          }
        })));
  }

  @Override
  public void receipt(String conversationId, String reader, ReceiptKind kind, long seq, Collection<String> audience) {
    inbox(reader).tell(new Inbox.MarkReceipt(conversationId, kind, seq));
    DeviceSession.ReceiptNotice notice = new DeviceSession.ReceiptNotice(conversationId, reader, kind, seq);
    for (String user : audience) {
      eachDevice(user, device -> session(new DeviceAddress(user, device)).tell(notice));
    }
  }

  /** The account's devices from this node's cache (a directory read when not cached); none if that fails. */
  private void eachDevice(String account, IntConsumer action) {
    directory.cachedDevices(account).thenAccept(list -> list.devices().forEach(action::accept));
  }

  private EntityRef<DeviceSession.Command> session(DeviceAddress device) {
    return sharding.entityRefFor(DeviceSession.ENTITY_KEY, device.entityId());
  }

  private EntityRef<Inbox.Command> inbox(String user) {
    return sharding.entityRefFor(Inbox.ENTITY_KEY, user);
  }
}
