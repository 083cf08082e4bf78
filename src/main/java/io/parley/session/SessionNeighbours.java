package io.parley.session;

import io.parley.conversation.Conversation;
import io.parley.identity.DeviceAddress;
import io.parley.inbox.Inbox;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.CompletionStage;
import org.apache.pekko.cluster.sharding.typed.javadsl.ClusterSharding;

/**
 * What a device session asks of and tells the rest of the cluster: its user's inbox and the conversations.
 * A port, so that a session can be tested alone.
 */
public interface SessionNeighbours {

  /** The user's conversations, each with the seq from which the user sees it. */
  CompletionStage<Map<String, Long>> conversationsOf(String user, Duration timeout);

  /** A delivered receipt: {@code reader}'s device has everything of the conversation up to {@code seq}. */
  void delivered(String conversationId, DeviceAddress reader, long seq);

  /** The neighbours in a cluster: the inbox and conversation entities through sharding. */
  static SessionNeighbours sharded(ClusterSharding sharding) {
    return new SessionNeighbours() {
      @Override
      public CompletionStage<Map<String, Long>> conversationsOf(String user, Duration timeout) {
        return sharding.entityRefFor(Inbox.ENTITY_KEY, user)
            .<Inbox.Conversations>ask(Inbox.ListConversations::new, timeout)
            .thenApply(Inbox.Conversations::joinedAt);
      }

      @Override
      public void delivered(String conversationId, DeviceAddress reader, long seq) {
        sharding.entityRefFor(Conversation.ENTITY_KEY, conversationId).tell(new Conversation.MarkDelivered(reader, seq));
      }
    };
  }
}
