package io.parley.agent.registry;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.mongodb.client.MongoClient;
import com.mongodb.client.MongoClients;
import com.mongodb.client.MongoDatabase;
import com.typesafe.config.ConfigFactory;
import io.parley.ParleyNode;
import io.parley.agent.AgentAccounts;
import io.parley.agent.AgentSettings.RegistrySettings;
import io.parley.agent.AgentSpec;
import io.parley.agent.RegistrySnapshot;
import io.parley.agent.kms.LocalKeyFileKek;
import io.parley.config.ParleySettings.RedisSettings;
import io.parley.redis.RedisConnection;
import io.parley.testing.TestCluster;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.cluster.Member;
import org.apache.pekko.cluster.typed.Cluster;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.io.TempDir;

/**
 * The registry on three Parley nodes in one JVM (one store, one Redis): changes reach every node's routing table
 * without a restart, a node that has not joined routes from the Redis cache, and when the singleton's node stops the
 * others route on from their own snapshot while a new singleton takes over with versions still growing.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class AgentRegistryClusterTest {
  private static final Duration SPREAD = Duration.ofSeconds(20);
  private static final String SECRET = "cluster-test-agent-secret-0123456789";
  private static final AgentAccounts ACCOUNTS =
      new AgentAccounts("0123456789abcdef0123456789abcdef".getBytes(StandardCharsets.UTF_8));
  // refresh only when asked: a change that arrives proves the admin path, not the timer
  private static final RegistrySettings SETTINGS = new RegistrySettings(Duration.ofHours(1), Duration.ofSeconds(3),
      "parley:agents:registry-snapshot", new RegistrySettings.KubernetesSettings(false, List.of(), "parley.io/agent",
      false));
  private static final AgentSpec FRONT_DOOR = new AgentSpec("assistant", "Parley Assistant", Optional.empty(),
      "picks the agent for each message", List.of(), "", true, AgentSpec.Source.BUILT_IN,
      ACCOUNTS.accountIdOf("assistant"));

  @TempDir static Path dir;
  private static TestCluster cluster;
  private static MongoClient mongo;
  private static RedisConnection redis;
  private static AgentStore store;
  private static AgentRegistry.Sources sources;
  private static final AgentRegistry.Node[] registries = new AgentRegistry.Node[3];

  @BeforeAll
  static void start() {
    cluster = TestCluster.start(dir, 3, Map.of());
    mongo = MongoClients.create(cluster.stores().mongodbUri());
    MongoDatabase db = mongo.getDatabase("parley");
    redis = RedisConnection.start(new RedisSettings(cluster.stores().redisUrl(), 0));
    LocalKeyFileKek kek = LocalKeyFileKek.open(dir.resolve("agent-kek"), true);
    store = new AgentStore(db, kek, ACCOUNTS, Clock.systemUTC());
    sources = new AgentRegistry.Sources(store, new RegistryVersions(db), Optional.empty(), () -> List.of(FRONT_DOOR),
        new SnapshotCache(redis.client(), SETTINGS.redisKey()), Clock.systemUTC());
    for (int i = 0; i < registries.length; i++) {
      registries[i] = AgentRegistry.start(cluster.node(i).system(), SETTINGS, sources);
    }
  }

  @AfterAll
  static void stop() {
    try {
      if (cluster != null) {
        cluster.close();
      }
    } finally {
      if (redis != null) {
        redis.close();
      }
      if (mongo != null) {
        mongo.close();
      }
    }
  }

  @Test
  @Order(1)
  void registryChangesReachEveryNodeWithoutARestart() {
    await().atMost(SPREAD).untilAsserted(() -> assertThat(registries).allSatisfy(node ->
        assertThat(node.routing().current().byId("assistant")).isPresent()));
    long first = registries[0].routing().current().version();
    assertThat(first).isPositive();

    store.put("weather", registration("Weather", true));
    registries[2].refresh();
    await().atMost(SPREAD).untilAsserted(() -> assertThat(registries).allSatisfy(node ->
        assertThat(node.routing().current().routable()).containsKeys("weather")));
    long second = registries[1].routing().current().version();
    assertThat(second).isGreaterThan(first);

    store.put("weather", registration("Weather", false));
    registries[1].refresh();
    await().atMost(SPREAD).untilAsserted(() -> assertThat(registries).allSatisfy(node -> {
      assertThat(node.routing().current().byId("weather")).hasValueSatisfying(a -> assertThat(a.enabled()).isFalse());
      assertThat(node.routing().current().routable()).doesNotContainKey("weather");
    }));
    assertThat(registries[0].routing().current().version()).isGreaterThan(second);

    // a refresh with nothing changed makes no new version
    long settled = registries[0].routing().current().version();
    store.put("weather", registration("Weather", true));
    registries[0].refresh();
    await().atMost(SPREAD).untilAsserted(() -> assertThat(registries).allSatisfy(node ->
        assertThat(node.routing().current().routable()).containsKey("weather")));
    long enabledAgain = registries[0].routing().current().version();
    assertThat(enabledAgain).isEqualTo(settled + 1);
    registries[2].refresh();
    registries[1].refresh();
    store.put("probe", registration("Probe", true));
    registries[0].refresh();
    await().atMost(SPREAD).untilAsserted(() -> assertThat(registries).allSatisfy(node ->
        assertThat(node.routing().current().byId("probe")).isPresent()));
    // the two empty refreshes in between advanced nothing: only the probe's own change counts
    assertThat(registries[0].routing().current().version()).isEqualTo(enabledAgain + 1);
  }

  @Test
  @Order(2)
  void aNodeThatHasNotJoinedRoutesFromTheRedisCache() {
    RegistrySnapshot clusterView = registries[0].routing().current();
    ActorSystem<Void> fresh = ActorSystem.create(Behaviors.empty(), "fresh", ConfigFactory.parseMap(Map.of(
            "pekko.remote.artery.canonical.port", 0,
            "pekko.cluster.jmx.multi-mbeans-in-same-jvm", "on",
            "pekko.coordinated-shutdown.run-by-jvm-shutdown-hook", "off"))
        .withFallback(ConfigFactory.load()));
    try {
      LocalRoutingTable table = RegistryReplica.start(fresh, new SnapshotCache(redis.client(), SETTINGS.redisKey()));
      // not a member of any cluster: nothing but Redis can have told it
      assertThat(Cluster.get(fresh).state().getMembers()).isEmpty();
      assertThat(table.current().version()).isEqualTo(clusterView.version());
      assertThat(table.current().routable()).containsKeys("weather", "probe");
      assertThat(table.current()).isEqualTo(clusterView);
    } finally {
      fresh.terminate();
      fresh.getWhenTerminated().toCompletableFuture().join();
    }
  }

  @Test
  @Order(3)
  void whenTheSingletonsNodeStopsRoutingGoesOnAndANewSingletonTakesOver() {
    int singletonNode = oldest();
    RegistrySnapshot before = registries[singletonNode].routing().current();
    List<Integer> survivors = Arrays.stream(new int[] {0, 1, 2}).filter(i -> i != singletonNode).boxed().toList();

    cluster.stopNode(singletonNode);

    // every other node still routes, from its own snapshot: nothing to ask, nothing lost
    assertThat(survivors).allSatisfy(i -> {
      RegistrySnapshot local = registries[i].routing().current();
      assertThat(local.version()).isEqualTo(before.version());
      assertThat(local.routable()).containsKeys("weather", "probe");
    });

    // an admin change on a survivor reaches the new singleton, which continues the version sequence
    store.put("translate", registration("Translate", true));
    registries[survivors.get(0)].refresh();
    await().atMost(Duration.ofSeconds(40)).untilAsserted(() -> assertThat(survivors).allSatisfy(i -> {
      RegistrySnapshot local = registries[i].routing().current();
      assertThat(local.routable()).containsKeys("translate", "weather", "probe");
      assertThat(local.version()).isGreaterThan(before.version());
    }));
    assertThat(oldest()).isNotEqualTo(singletonNode);
  }

  /** The node the singleton runs on: the oldest member that is up, once every running node agrees on it. */
  private static int oldest() {
    return await().atMost(Duration.ofSeconds(30)).until(AgentRegistryClusterTest::oldestNow, i -> i >= 0);
  }

  private static int oldestNow() {
    ParleyNode observer = cluster.running().get(0);
    Optional<Member> oldest = java.util.stream.StreamSupport.stream(
            Cluster.get(observer.system()).state().getMembers().spliterator(), false)
        .filter(member -> member.status().equals(org.apache.pekko.cluster.MemberStatus.up()))
        .reduce((a, b) -> a.isOlderThan(b) ? a : b);
    if (oldest.isEmpty()) {
      return -1;
    }
    for (int i = 0; i < registries.length; i++) {
      ParleyNode node = cluster.node(i);
      if (node != null && Cluster.get(node.system()).selfMember().address().equals(oldest.get().address())) {
        return i;
      }
    }
    return -1;
  }

  private static AgentRegistration registration(String name, boolean enabled) {
    return AgentRegistration.of(name.toLowerCase(), name, "https://" + name.toLowerCase() + ".agents.example/events",
        name + " agent", List.of("ask " + name.toLowerCase() + " something"), Optional.of(SECRET), enabled);
  }
}
