package io.parley.cluster;

import static io.parley.testing.Chat.connect;
import static io.parley.testing.Chat.newConversationId;
import static org.assertj.core.api.Assertions.assertThat;

import com.typesafe.config.ConfigFactory;
import io.parley.ParleyNode;
import io.parley.conversation.Conversation;
import io.parley.protocol.ClientFrame;
import io.parley.protocol.ServerFrame;
import io.parley.testing.DevAccounts;
import io.parley.testing.DevAccounts.Account;
import io.parley.testing.TestCluster;
import io.parley.testing.WsClient;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.apache.pekko.cluster.typed.Cluster;
import org.apache.pekko.util.Version;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * During a rolling update the cluster runs two app versions. Sharding then places every new shard on a
 * node of the newer version, even when the request comes through an old node and the coordinator lives
 * on it, so entities move once (old → new) and not again when the next old node leaves.
 */
class AppVersionAllocationTest {
  @TempDir Path dir;

  @Test
  void theBuildVersionIsTheAppVersion() {
    var config = ConfigFactory.load();
    String built = config.getString("parley.build.version");
    assertThat(built).as("filled in by the build").matches("\\d+\\.\\d+\\.\\d+.*");
    assertThat(config.getString("pekko.cluster.app-version")).isEqualTo(built);
  }

  @Test
  void newShardsGoToTheNodeOfTheNewerVersion() {
    try (TestCluster cluster = TestCluster.create(dir, 2, Map.of())) {
      ParleyNode old = cluster.startNode(0, Map.of("pekko.cluster.app-version", "1.4.0"));
      ParleyNode updated = cluster.startNode(1, Map.of("pekko.cluster.app-version", "1.5.0"));
      cluster.awaitMembersUp(2);
      assertThat(Cluster.get(updated.system()).selfMember().appVersion()).isEqualTo(new Version("1.5.0"));

      int port = old.httpAddress().getPort();
      Account alice = DevAccounts.login(port, "alice-versions");
      Account bob = DevAccounts.login(port, "bob-versions");
      List<String> conversations = new ArrayList<>();
      try (WsClient a = connect(port, alice)) {
        // the updated node's region registers with the coordinator a moment after the member is up; until
        // then the coordinator can only allocate to the old node
        java.util.concurrent.atomic.AtomicInteger probes = new java.util.concurrent.atomic.AtomicInteger();
        org.awaitility.Awaitility.await().atMost(java.time.Duration.ofSeconds(30)).until(() -> {
          String probe = newConversationId();
          a.send(new ClientFrame.Create("p" + probes.incrementAndGet(), probe, List.of(bob.accountId())));
          a.await(ServerFrame.Created.class, created -> created.conversationId().equals(probe));
          return TestCluster.entitiesOn(updated, Conversation.ENTITY_KEY).contains(probe);
        });
        // shards placed on the old node while probing stay there; only shards allocated from now on count
        Set<String> allocatedBefore = TestCluster.shardsOn(old, Conversation.ENTITY_KEY);
        while (conversations.size() < 12) {
          String id = newConversationId();
          if (allocatedBefore.contains(shardOf(id))) {
            continue;
          }
          conversations.add(id);
          int i = conversations.size();
          a.send(new ClientFrame.Create("r" + i, id, List.of(bob.accountId())));
          a.await(ServerFrame.Created.class, created -> created.conversationId().equals(id));
        }
      }
      assertThat(TestCluster.entitiesOn(old, Conversation.ENTITY_KEY)).as("on the old node")
          .doesNotContainAnyElementsOf(conversations);
      assertThat(TestCluster.entitiesOn(updated, Conversation.ENTITY_KEY)).as("on the updated node")
          .containsAll(conversations);
    }
  }

  /** Sharding's default extractor: the entity id's hash modulo the number of shards. */
  private static String shardOf(String entityId) {
    int shards = ConfigFactory.load().getInt("pekko.cluster.sharding.number-of-shards");
    return Integer.toString(Math.abs(entityId.hashCode() % shards));
  }
}
