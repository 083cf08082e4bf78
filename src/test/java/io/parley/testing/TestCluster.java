package io.parley.testing;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.parley.ParleyNode;
import io.parley.store.StandaloneStores;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.javadsl.AskPattern;
import org.apache.pekko.cluster.MemberStatus;
import org.apache.pekko.cluster.sharding.ShardRegion;
import org.apache.pekko.cluster.sharding.typed.GetShardRegionState;
import org.apache.pekko.cluster.sharding.typed.javadsl.ClusterSharding;
import org.apache.pekko.cluster.sharding.typed.javadsl.EntityTypeKey;
import org.apache.pekko.cluster.typed.Cluster;

/**
 * Several in-process Parley nodes in one cluster over one shared store and Redis (started here, as
 * {@code parley store} runs them), each on fixed ports chosen up front, so that a node can be stopped
 * and a new one started in its place on the same ports. The first two nodes are the seed nodes.
 */
public final class TestCluster implements AutoCloseable {
  public static final Duration CONVERGE = Duration.ofSeconds(60);

  /** The ports of one node's place in the cluster; a restarted node takes the same place. */
  public record Place(int index, int http, int remote, int management) {}

  private final Path dataDir;
  private final StandaloneStores stores;
  private final List<Place> places = new ArrayList<>();
  private final ParleyNode[] nodes;
  private final Map<String, Object> overrides;

  private TestCluster(Path dataDir, StandaloneStores stores, int size, Map<String, Object> overrides) {
    this.dataDir = dataDir;
    this.stores = stores;
    this.nodes = new ParleyNode[size];
    this.overrides = overrides;
    for (int i = 0; i < size; i++) {
      places.add(new Place(i, NodeProcess.freePort(), NodeProcess.freePort(), NodeProcess.freePort()));
    }
  }

  /** Starts the shared stores and {@code size} nodes, and waits until every one is Up. */
  public static TestCluster start(Path dataDir, int size, Map<String, Object> overrides) {
    TestCluster cluster = create(dataDir, size, overrides);
    try {
      for (int i = 0; i < size; i++) {
        cluster.startNode(i, Map.of());
      }
      cluster.awaitMembersUp(size);
      return cluster;
    } catch (RuntimeException | Error e) {
      cluster.close();
      throw e;
    }
  }

  /** The shared stores and the places, without nodes: start them with {@link #startNode}. */
  public static TestCluster create(Path dataDir, int size, Map<String, Object> overrides) {
    StandaloneStores stores = StandaloneStores.start(dataDir.resolve("store"), 0, 0, true, false);
    return new TestCluster(dataDir, stores, size, Map.copyOf(overrides));
  }

  public Place place(int index) {
    return places.get(index);
  }

  public List<Place> places() {
    return List.copyOf(places);
  }

  public ParleyNode node(int index) {
    return nodes[index];
  }

  public StandaloneStores stores() {
    return stores;
  }

  /** Seed nodes for a node process outside this JVM: the first two places. */
  public String seedNodes() {
    return places.stream().limit(2).map(place -> "127.0.0.1:" + place.remote()).collect(Collectors.joining(","));
  }

  /** The settings of a node in {@code place}, with the cluster's and then {@code extra} overrides. */
  public Map<String, Object> settings(Place place, Map<String, Object> extra) {
    Map<String, Object> values = new HashMap<>();
    values.put("parley.http.port", place.http());
    values.put("pekko.remote.artery.canonical.port", place.remote());
    values.put("pekko.management.http.port", place.management());
    values.put("parley.cluster.formation", "seeds");
    values.put("parley.cluster.seed-nodes", seedNodes());
    values.put("parley.store.mongodb-uri", stores.mongodbUri());
    values.put("parley.redis.url", stores.redisUrl());
    values.put("parley.directory.claim-rate", 10_000);
    // a node that runs the demo agents must not need the fixed default port, which another process may hold
    values.put("parley.agents.demo.port", NodeProcess.freePort());
    values.putAll(overrides);
    values.putAll(extra);
    return values;
  }

  /** Starts a node in place {@code index} (which must be free). */
  public ParleyNode startNode(int index, Map<String, Object> extra) {
    if (nodes[index] != null) {
      throw new IllegalStateException("place " + index + " is taken");
    }
    // one data dir for every node: it holds only the shared dev token key and identity pepper
    nodes[index] = TestNode.start(dataDir, settings(places.get(index), extra));
    return nodes[index];
  }

  /** Graceful stop through coordinated shutdown: reconnect frames, shard hand-off, leaving. */
  public void stopNode(int index) {
    ParleyNode node = nodes[index];
    nodes[index] = null;
    TestNode.stop(node);
  }

  /** Waits until some running node sees exactly {@code count} members, all Up, and none unreachable. */
  public void awaitMembersUp(int count) {
    ParleyNode observer = running().get(0);
    await().atMost(CONVERGE).untilAsserted(() -> {
      Cluster cluster = Cluster.get(observer.system());
      assertThat(cluster.state().getMembers()).hasSize(count).allMatch(member -> member.status() == MemberStatus.up());
      assertThat(cluster.state().getUnreachable()).isEmpty();
    });
  }

  public List<ParleyNode> running() {
    return java.util.Arrays.stream(nodes).filter(java.util.Objects::nonNull).toList();
  }

  /** The entity ids of {@code key} that live on {@code node} now. */
  public static Set<String> entitiesOn(ParleyNode node, EntityTypeKey<?> key) {
    return regionState(node, key).getShards().stream().flatMap(shard -> shard.getEntityIds().stream())
        .collect(Collectors.toSet());
  }

  /** The shard ids a node hosts for an entity type. */
  public static Set<String> shardsOn(ParleyNode node, EntityTypeKey<?> key) {
    return regionState(node, key).getShards().stream().map(ShardRegion.ShardState::shardId)
        .collect(Collectors.toSet());
  }

  private static ShardRegion.CurrentShardRegionState regionState(ParleyNode node, EntityTypeKey<?> key) {
    ActorRef<Object> shardState = ClusterSharding.get(node.system()).shardState().unsafeUpcast();
    return AskPattern.<Object, ShardRegion.CurrentShardRegionState>ask(
            shardState, replyTo -> new GetShardRegionState(key, replyTo), Duration.ofSeconds(10),
            node.system().scheduler())
        .toCompletableFuture().join();
  }

  @Override
  public void close() {
    try {
      for (int i = nodes.length - 1; i >= 0; i--) {
        if (nodes[i] != null) {
          stopNode(i);
        }
      }
    } finally {
      stores.close();
    }
  }
}
