package io.parley.admin;

import io.parley.gateway.Connections;
import io.parley.serialization.CborSerializable;
import java.time.Duration;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.Props;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.receptionist.Receptionist;
import org.apache.pekko.actor.typed.receptionist.ServiceKey;
import org.apache.pekko.cluster.typed.Cluster;

/**
 * One per node, registered with the receptionist: answers what only the node itself knows (its live
 * WebSocket connections) to the admin API of any node.
 */
public final class NodeStats {
  public static final ServiceKey<Command> KEY = ServiceKey.create(Command.class, "parley-node-stats");

  public sealed interface Command extends CborSerializable {}

  public record Get(ActorRef<Stats> replyTo) implements Command {}

  /** {@code address}: the node's cluster address, as in the member list. */
  public record Stats(String address, int connections) implements CborSerializable {}

  private record Counted(ActorRef<Stats> replyTo, int connections) implements Command {}

  private record CountFailed(ActorRef<Stats> replyTo) implements Command {}

  private NodeStats() {}

  /** Spawns the node's stats actor and registers it; {@code connections} is the node's connection registry. */
  public static void start(ActorSystem<?> system, ActorRef<Connections.Command> connections, Duration timeout) {
    ActorRef<Command> ref = system.systemActorOf(create(connections, timeout), "parley-node-stats", Props.empty());
    system.receptionist().tell(Receptionist.register(KEY, ref));
  }

  static Behavior<Command> create(ActorRef<Connections.Command> connections, Duration timeout) {
    return Behaviors.setup(ctx -> {
      String self = Cluster.get(ctx.getSystem()).selfMember().address().toString();
      return Behaviors.receive(Command.class)
          .onMessage(Get.class, get -> {
            ctx.ask(Integer.class, connections, timeout, Connections.Count::new,
                (count, failure) -> count != null ? new Counted(get.replyTo(), count) : new CountFailed(get.replyTo()));
            return Behaviors.same();
          })
          .onMessage(Counted.class, counted -> {
            counted.replyTo().tell(new Stats(self, counted.connections()));
            return Behaviors.same();
          })
          // no answer is better than a wrong count: the asker reports the node's connections as unknown
          .onMessage(CountFailed.class, failed -> Behaviors.same())
          .build();
    });
  }
}
