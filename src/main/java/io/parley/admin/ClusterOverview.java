package io.parley.admin;

import io.parley.conversation.Conversation;
import io.parley.directory.KeyDirectory;
import io.parley.inbox.Inbox;
import io.parley.session.DeviceSession;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.stream.StreamSupport;
import org.apache.pekko.actor.Address;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.AskPattern;
import org.apache.pekko.actor.typed.receptionist.Receptionist;
import org.apache.pekko.cluster.Member;
import org.apache.pekko.cluster.sharding.ShardRegion;
import org.apache.pekko.cluster.sharding.typed.GetClusterShardingStats;
import org.apache.pekko.cluster.sharding.typed.javadsl.ClusterSharding;
import org.apache.pekko.cluster.sharding.typed.javadsl.EntityTypeKey;
import org.apache.pekko.cluster.typed.Cluster;

/**
 * What {@code GET /v1/admin/nodes} shows: every cluster member with its status, roles and app version, its
 * live WebSocket connections (asked of the member's {@link NodeStats}) and its shards and entities per
 * entity type (cluster sharding statistics). Counts only: no entity ids.
 */
public final class ClusterOverview {
  static final List<EntityTypeKey<?>> ENTITY_TYPES = List.of(
      Conversation.ENTITY_KEY, Inbox.ENTITY_KEY, DeviceSession.ENTITY_KEY, KeyDirectory.ENTITY_KEY);

  /** {@code shards} hosted by the member and the live {@code entities} in them. */
  public record Hosted(int shards, int entities) {}

  /**
   * One member. {@code connections} is null when the member did not answer in time; an entity type is
   * missing from {@code entities} when its statistics could not be gathered (see {@link Overview#unavailable}).
   */
  public record Node(String address, String status, List<String> roles, String appVersion, Integer connections,
                     Map<String, Hosted> entities) {}

  /** {@code self}: the address of the member that answered; {@code unavailable}: entity types without statistics. */
  public record Overview(String self, List<Node> nodes, List<String> unavailable) {}

  private ClusterOverview() {}

  public static CompletionStage<Overview> gather(ActorSystem<?> system, Duration timeout) {
    CompletableFuture<Map<String, Integer>> connections = connections(system, timeout);
    Map<String, CompletableFuture<Map<Address, ShardRegion.ShardRegionStats>>> sharding = new TreeMap<>();
    for (EntityTypeKey<?> type : ENTITY_TYPES) {
      sharding.put(type.name(), shardingStats(system, type, timeout));
    }
    List<CompletableFuture<?>> all = new ArrayList<>(sharding.values());
    all.add(connections);
    return CompletableFuture.allOf(all.toArray(CompletableFuture[]::new))
        .thenApply(done -> overview(system, connections.join(), sharding));
  }

  private static Overview overview(ActorSystem<?> system, Map<String, Integer> connections,
      Map<String, CompletableFuture<Map<Address, ShardRegion.ShardRegionStats>>> sharding) {
    Cluster cluster = Cluster.get(system);
    List<String> unavailable = sharding.entrySet().stream()
        .filter(e -> e.getValue().join() == null).map(Map.Entry::getKey).toList();
    List<Node> nodes = StreamSupport.stream(cluster.state().getMembers().spliterator(), false)
        .map(member -> node(member, connections, sharding))
        .toList();
    return new Overview(cluster.selfMember().address().toString(), nodes, unavailable);
  }

  private static Node node(Member member, Map<String, Integer> connections,
      Map<String, CompletableFuture<Map<Address, ShardRegion.ShardRegionStats>>> sharding) {
    Map<String, Hosted> hosted = new TreeMap<>();
    sharding.forEach((type, stats) -> {
      Map<Address, ShardRegion.ShardRegionStats> regions = stats.join();
      if (regions != null) {
        ShardRegion.ShardRegionStats region = regions.get(member.address());
        hosted.put(type, region == null ? new Hosted(0, 0) : new Hosted(region.getStats().size(),
            region.getStats().values().stream().mapToInt(count -> ((Number) count).intValue()).sum()));
      }
    });
    String address = member.address().toString();
    return new Node(address, member.status().toString(), member.getRoles().stream().sorted().toList(),
        member.appVersion().version(), connections.get(address), hosted);
  }

  /** Each member's connection count by its address; a member that does not answer in time is left out. */
  private static CompletableFuture<Map<String, Integer>> connections(ActorSystem<?> system, Duration timeout) {
    return AskPattern.<Receptionist.Command, Receptionist.Listing>ask(system.receptionist(),
            replyTo -> Receptionist.find(NodeStats.KEY, replyTo), timeout, system.scheduler())
        .thenCompose(listing -> {
          List<CompletableFuture<NodeStats.Stats>> answers = listing.getServiceInstances(NodeStats.KEY).stream()
              .map(ref -> AskPattern.<NodeStats.Command, NodeStats.Stats>ask(ref, NodeStats.Get::new, timeout,
                      system.scheduler())
                  .toCompletableFuture()
                  .exceptionally(noAnswer -> null))
              .toList();
          return CompletableFuture.allOf(answers.toArray(CompletableFuture[]::new))
              .thenApply(done -> {
                Map<String, Integer> counts = new TreeMap<>();
                answers.stream().map(CompletableFuture::join).filter(Objects::nonNull)
                    .forEach(stats -> counts.put(stats.address(), stats.connections()));
                return counts;
              });
        })
        .toCompletableFuture()
        .exceptionally(noListing -> Map.of());
  }

  /** The type's regions by member address, or null when the statistics could not be gathered. */
  private static CompletableFuture<Map<Address, ShardRegion.ShardRegionStats>> shardingStats(ActorSystem<?> system,
      EntityTypeKey<?> type, Duration timeout) {
    return AskPattern.<org.apache.pekko.cluster.sharding.typed.ClusterShardingQuery, ShardRegion.ClusterShardingStats>ask(
            ClusterSharding.get(system).shardState(),
            replyTo -> new GetClusterShardingStats(type, timeout, replyTo), timeout.plusSeconds(1), system.scheduler())
        .thenApply(ShardRegion.ClusterShardingStats::getRegions)
        .toCompletableFuture()
        .exceptionally(failed -> null);
  }
}
