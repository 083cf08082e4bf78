package io.parley.gateway;

import java.time.Duration;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.javadsl.Behaviors;

/** The live connections of this node: spawns one actor per WebSocket and tells them all when the node stops. */
public final class Connections {

  public sealed interface Command {}

  record Open(Outbound outbound, ActorRef<ActorRef<Connection.Command>> replyTo) implements Command {}

  /** Asks every client to reconnect after about {@code retryAfter}; replies with how many were told. */
  public record ShutdownAll(Duration retryAfter, ActorRef<Integer> replyTo) implements Command {}

  public record Count(ActorRef<Integer> replyTo) implements Command {}

  private Connections() {}

  public static Behavior<Command> create(Connection.Deps deps) {
    return Behaviors.setup(ctx -> Behaviors.receive(Command.class)
        .onMessage(Open.class, open -> {
          open.replyTo().tell(ctx.spawnAnonymous(Connection.create(deps, open.outbound())));
          return Behaviors.same();
        })
        .onMessage(ShutdownAll.class, shutdown -> {
          int count = 0;
          for (ActorRef<Void> child : ctx.getChildren()) {
            child.<Connection.Command>unsafeUpcast().tell(new Connection.Shutdown(shutdown.retryAfter()));
            count++;
          }
          shutdown.replyTo().tell(count);
          return Behaviors.same();
        })
        .onMessage(Count.class, count -> {
          count.replyTo().tell(ctx.getChildren().size());
          return Behaviors.same();
        })
        .build());
  }
}
