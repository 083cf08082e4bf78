package io.parley.cluster;

import io.parley.config.ParleySettings.ClusterSettings;
import java.util.List;
import org.apache.pekko.actor.Address;
import org.apache.pekko.actor.AddressFromURIString;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.cluster.typed.Cluster;
import org.apache.pekko.cluster.typed.Join;
import org.apache.pekko.cluster.typed.JoinSeedNodes;
import org.apache.pekko.management.cluster.bootstrap.ClusterBootstrap;
import org.apache.pekko.management.javadsl.PekkoManagement;

/** How this node finds its cluster: alone, through seed nodes, or through Kubernetes discovery. */
public final class ClusterFormation {
  private ClusterFormation() {}

  public static void join(ActorSystem<?> system, ClusterSettings settings) {
    Cluster cluster = Cluster.get(system);
    switch (settings.formation()) {
      case SINGLE -> cluster.manager().tell(Join.create(cluster.selfMember().address()));
      case SEEDS -> cluster.manager().tell(new JoinSeedNodes(seedAddresses(system, settings.seedNodes())));
      case KUBERNETES -> ClusterBootstrap.get(system).start();
    }
  }

  /** Starts the management HTTP server (health checks, cluster HTTP routes). */
  public static void startManagement(ActorSystem<?> system) {
    PekkoManagement.get(system).start();
  }

  private static List<Address> seedAddresses(ActorSystem<?> system, List<String> hostPorts) {
    if (hostPorts.isEmpty()) {
      throw new IllegalArgumentException("parley.cluster.formation = seeds needs parley.cluster.seed-nodes (PARLEY_SEED_NODES)");
    }
    return hostPorts.stream()
        .map(hostPort -> AddressFromURIString.parse("pekko://" + system.name() + "@" + hostPort))
        .toList();
  }
}
