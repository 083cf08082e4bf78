package io.parley.agent.registry;

import io.parley.agent.RegistrySnapshot;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.Props;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.cluster.ddata.LWWRegister;
import org.apache.pekko.cluster.ddata.typed.javadsl.DistributedData;
import org.apache.pekko.cluster.ddata.typed.javadsl.Replicator;

/**
 * One per node: feeds the node's {@link LocalRoutingTable} from the replicated registry snapshot. It never talks
 * to the registry singleton; Distributed Data brings every new version to this node's replica, and gossip brings
 * it to a node that missed the write.
 */
public final class RegistryReplica {

  public sealed interface Command {}

  private record Changed(Replicator.SubscribeResponse<LWWRegister<DistributedSnapshot>> response)
      implements Command {}

  private RegistryReplica() {}

  /**
   * The node's routing table: first the snapshot cached in Redis (so the node routes before the cluster has told
   * it anything), then every newer version the cluster distributes.
   */
  public static LocalRoutingTable start(ActorSystem<?> system, SnapshotCache cache) {
    LocalRoutingTable table = new LocalRoutingTable();
    cache.read().ifPresent(snapshot -> {
      table.offer(snapshot);
      system.log().info("Agent registry version {} from the Redis cache ({} agents)", snapshot.version(),
          snapshot.agents().size());
    });
    system.systemActorOf(create(table), "agent-registry-replica", Props.empty());
    return table;
  }

  public static Behavior<Command> create(LocalRoutingTable table) {
    return Behaviors.setup(context -> DistributedData.<Command, LWWRegister<DistributedSnapshot>>withReplicatorMessageAdapter(
        replicator -> {
          replicator.subscribe(DistributedSnapshot.KEY, Changed::new);
          return Behaviors.receive(Command.class)
              .onMessage(Changed.class, changed -> onChanged(context.getLog(), table, changed))
              .build();
        }));
  }

  private static Behavior<Command> onChanged(org.slf4j.Logger log, LocalRoutingTable table, Changed changed) {
    if (changed.response() instanceof Replicator.Changed<LWWRegister<DistributedSnapshot>> value) {
      DistributedSnapshot distributed = value.get(DistributedSnapshot.KEY).getValue();
      if (distributed.version() > table.current().version()) {
        RegistrySnapshot snapshot = distributed.snapshot();
        if (table.offer(snapshot)) {
          log.info("Agent registry version {} ({} agents)", snapshot.version(), snapshot.agents().size());
        }
      }
    }
    return Behaviors.same();
  }
}
