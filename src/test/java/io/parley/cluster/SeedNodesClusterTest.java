package io.parley.cluster;

import static io.parley.testing.Chat.connect;
import static io.parley.testing.Chat.newConversationId;
import static io.parley.testing.Chat.newKey;
import static io.parley.testing.Chat.send;
import static io.parley.testing.Chat.text;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.parley.ParleyNode;
import io.parley.protocol.ClientFrame;
import io.parley.protocol.ServerFrame;
import io.parley.testing.DevAccounts;
import io.parley.testing.DevAccounts.Account;
import io.parley.testing.TestNode;
import io.parley.testing.WsClient;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.apache.pekko.actor.Address;
import org.apache.pekko.cluster.MemberStatus;
import org.apache.pekko.cluster.typed.Cluster;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Two nodes form a cluster through seed nodes and share one MongoDB: clients on different nodes chat,
 * so every message that crosses nodes goes through the real serializers.
 */
class SeedNodesClusterTest {
  @TempDir Path dataDir;
  private ParleyNode seed;
  private ParleyNode joiner;

  @AfterEach
  void stop() {
    TestNode.stop(joiner);
    TestNode.stop(seed);
  }

  @Test
  void clientsOnDifferentNodesChatThroughOneCluster() {
    seed = TestNode.start(dataDir);
    Address seedAddress = Cluster.get(seed.system()).selfMember().address();
    // the same data dir: its dev token key and identity pepper are shared, its store is the seed's
    joiner = TestNode.start(dataDir, Map.of(
        "parley.cluster.formation", "seeds",
        "parley.cluster.seed-nodes", seedAddress.host().get() + ":" + seedAddress.port().get(),
        "parley.store.mongodb-uri", seed.mongoConnectionString()));
    await().atMost(Duration.ofSeconds(30)).untilAsserted(() ->
        assertThat(Cluster.get(seed.system()).state().getMembers())
            .hasSize(2)
            .allMatch(member -> member.status() == MemberStatus.up()));

    int seedPort = seed.httpAddress().getPort();
    int joinerPort = joiner.httpAddress().getPort();
    Account alice = DevAccounts.login(seedPort, "alice-cluster");
    Account bob = DevAccounts.login(seedPort, "bob-cluster");
    String id = newConversationId();
    try (WsClient a = connect(seedPort, alice); WsClient b = connect(joinerPort, bob)) {
      a.send(new ClientFrame.Create("r", id, List.of(bob.accountId())));
      a.await(ServerFrame.Created.class, created -> true);
      assertThat(b.next(ServerFrame.Member.class).seq()).isEqualTo(1);
      for (int i = 1; i <= 30; i++) {
        a.send(send(id, newKey(), bob, "across " + i));
      }
      for (int i = 1; i <= 30; i++) {
        ServerFrame.Message message = b.next(ServerFrame.Message.class);
        assertThat(message.seq()).isEqualTo(i + 1);
        assertThat(text(message)).isEqualTo("across " + i);
      }
      b.send(send(id, newKey(), alice, "and back"));
      assertThat(text(a.await(ServerFrame.Message.class, m -> m.envelope() != null))).isEqualTo("and back");
    }
  }
}
