package io.parley.presence;

import static io.parley.testing.Chat.newConversationId;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.parley.ParleyNode;
import io.parley.config.ParleySettings.RedisSettings;
import io.parley.protocol.ClientFrame;
import io.parley.protocol.ServerFrame;
import io.parley.redis.RedisConnection;
import io.parley.testing.Chat;
import io.parley.testing.DevAccounts;
import io.parley.testing.DevAccounts.Account;
import io.parley.testing.NodeProcess;
import io.parley.testing.TcpProxy;
import io.parley.testing.TestNode;
import io.parley.testing.WsClient;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.pekko.actor.Address;
import org.apache.pekko.cluster.MemberStatus;
import org.apache.pekko.cluster.typed.Cluster;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Two nodes of one cluster. Alice is connected to the second, whose way to Redis is then cut: its
 * heartbeats stop as they would if the node died, without any cleanup. Bob, on the first node, is shown
 * alice offline after the ttl, with her last heartbeat as last-seen, learnt through the first node's sweep.
 */
class PresenceNodeLossTest {
  @TempDir Path dataDir;
  private RedisConnection redis;
  private TcpProxy proxy;
  private ParleyNode first;
  private ParleyNode second;

  @AfterEach
  void stop() {
    TestNode.stop(second);
    TestNode.stop(first);
    if (proxy != null) {
      proxy.close();
    }
    if (redis != null) {
      redis.close();
    }
  }

  @Test
  void aContactOnAnotherNodeIsShownOfflineAfterTheLostNodesTtl() {
    int redisPort = NodeProcess.freePort();
    redis = RedisConnection.start(new RedisSettings("", redisPort));
    proxy = new TcpProxy(redisPort);
    first = TestNode.start(dataDir, PresenceTest.presenceConfig("redis://127.0.0.1:" + redisPort));
    Address seed = Cluster.get(first.system()).selfMember().address();
    Map<String, Object> joiner = new HashMap<>(PresenceTest.presenceConfig("redis://127.0.0.1:" + proxy.port()));
    joiner.put("parley.cluster.formation", "seeds");
    joiner.put("parley.cluster.seed-nodes", seed.host().get() + ":" + seed.port().get());
    joiner.put("parley.store.mongodb-uri", first.mongoConnectionString());
    second = TestNode.start(dataDir, joiner);
    await().atMost(Duration.ofSeconds(30)).untilAsserted(() ->
        assertThat(Cluster.get(first.system()).state().getMembers())
            .hasSize(2).allMatch(member -> member.status() == MemberStatus.up()));

    int firstPort = first.httpAddress().getPort();
    int secondPort = second.httpAddress().getPort();
    Account alice = DevAccounts.login(firstPort, "alice-lost-node");
    Account bob = DevAccounts.login(firstPort, "bob-lost-node");
    try (WsClient b = Chat.connect(firstPort, bob, 1, Map.of());
         WsClient a = Chat.connect(secondPort, alice, 1, Map.of())) {
      Chat.create(a, newConversationId(), List.of(bob.accountId()));
      // alice's arrival was announced by the second node and reached bob's node over the cluster topic
      assertThat(b.presence(p -> p.user().equals(alice.accountId()), WsClient.WAIT).online()).isTrue();

      long cutAt = System.currentTimeMillis();
      proxy.cut();
      ServerFrame.Presence gone = b.presence(p -> p.user().equals(alice.accountId()) && !p.online(),
          Duration.ofSeconds(15));
      long shownAt = System.currentTimeMillis();
      assertThat(shownAt - cutAt).as("not before the ttl").isGreaterThanOrEqualTo(
          PresenceTest.TTL.toMillis() - 300 - 50);
      assertThat(gone.lastSeen()).as("the last heartbeat").isBetween(cutAt - 300 - 1_000, cutAt + 50);

      String requestId = "p-lost";
      b.send(new ClientFrame.PresenceQuery(requestId, List.of(alice.accountId())));
      assertThat(b.await(ServerFrame.Presences.class, p -> p.requestId().equals(requestId)).users())
          .containsExactly(gone);
      assertThat(a.isClosed()).as("alice's own connection was never touched").isFalse();
    }
  }
}
