package io.parley.session;

import io.parley.conversation.Conversation;
import io.parley.identity.DeviceAddress;
import io.parley.inbox.Inbox;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.CompletionStage;
import org.apache.pekko.Done;
import org.apache.pekko.cluster.sharding.typed.javadsl.ClusterSharding;

/**
 * What a device session asks of and tells the rest of the cluster: its user's inbox and the conversations.
 * A port, so that a session can be tested alone.
 */
public interface SessionNeighbours {

  /** The user's conversations, each with the seq from which the user sees it, and the device's cursors. */
  CompletionStage<Inbox.Resumption> resume(DeviceAddress device, Duration timeout);

  /** The device has acknowledged these seqs; the inbox persists them with its next batch. */
  void cursorsAdvanced(DeviceAddress device, Map<String, Long> cursors);

  /** As {@link #cursorsAdvanced}, persisted now; completes when they are. */
  CompletionStage<Done> saveCursors(DeviceAddress device, Map<String, Long> cursors, Duration timeout);

  /** A delivered receipt: {@code reader}'s device has everything of the conversation up to {@code seq}. */
  void delivered(String conversationId, DeviceAddress reader, long seq);

  /** The neighbours in a cluster: the inbox and conversation entities through sharding. */
  static SessionNeighbours sharded(ClusterSharding sharding) {
    return new SessionNeighbours() {
      @Override
      public CompletionStage<Inbox.Resumption> resume(DeviceAddress device, Duration timeout) {
        return sharding.entityRefFor(Inbox.ENTITY_KEY, device.user())
            .ask(replyTo -> new Inbox.Resume(device.device(), replyTo), timeout);
      }

      @Override
      public void cursorsAdvanced(DeviceAddress device, Map<String, Long> cursors) {
        sharding.entityRefFor(Inbox.ENTITY_KEY, device.user()).tell(new Inbox.AdvanceCursors(device.device(), cursors));
      }

      @Override
      public CompletionStage<Done> saveCursors(DeviceAddress device, Map<String, Long> cursors, Duration timeout) {
        return sharding.entityRefFor(Inbox.ENTITY_KEY, device.user())
            .ask(replyTo -> new Inbox.SaveCursors(device.device(), cursors, replyTo), timeout);
      }

      @Override
      public void delivered(String conversationId, DeviceAddress reader, long seq) {
        sharding.entityRefFor(Conversation.ENTITY_KEY, conversationId)
            .tell(new Conversation.MarkDelivered(reader, seq));
      }
    };
  }
}
