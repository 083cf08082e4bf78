package io.parley.gateway;

import java.time.Duration;
import java.util.HashSet;
import java.util.Optional;
import java.util.Set;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;

/** The live connections of this node: spawns one actor per WebSocket and tells them all when the node stops. */
public final class Connections {

  public sealed interface Command {}

  record Open(Outbound outbound, ActorRef<ActorRef<Connection.Command>> replyTo) implements Command {}

  /**
   * Asks every client to reconnect after about {@code retryAfter}; replies with how many were told once
   * all of them have closed (each first answers the requests it has in flight).
   */
  public record ShutdownAll(Duration retryAfter, ActorRef<Integer> replyTo) implements Command {}

  public record Count(ActorRef<Integer> replyTo) implements Command {}

  private record Closed(ActorRef<Void> connection) implements Command {}

  private Connections() {}

  public static Behavior<Command> create(Connection.Deps deps) {
    return Behaviors.setup(ctx -> Behaviors.receive(Command.class)
        .onMessage(Open.class, open -> {
          open.replyTo().tell(ctx.spawnAnonymous(Connection.create(deps, open.outbound())));
          return Behaviors.same();
        })
        .onMessage(ShutdownAll.class, shutdown -> {
          Set<ActorRef<Void>> open = new HashSet<>();
          for (ActorRef<Void> child : ctx.getChildren()) {
            open.add(tellShutdown(ctx, child, shutdown.retryAfter()));
          }
          return closing(ctx, deps, shutdown.retryAfter(), Optional.of(shutdown.replyTo()), open.size(),
              Set.copyOf(open));
        })
        .onMessage(Count.class, count -> count(ctx, count))
        .build());
  }

  /**
   * Shutting down: waits for the connections told to close ({@code open}), then answers {@code replyTo}
   * once. A connection that still opens meanwhile is told to reconnect at once.
   */
  private static Behavior<Command> closing(ActorContext<Command> ctx, Connection.Deps deps, Duration retryAfter,
      Optional<ActorRef<Integer>> replyTo, int told, Set<ActorRef<Void>> open) {
    if (open.isEmpty() && replyTo.isPresent()) {
      replyTo.get().tell(told);
      return closing(ctx, deps, retryAfter, Optional.empty(), told, open);
    }
    return Behaviors.receive(Command.class)
        .onMessage(Open.class, late -> {
          ActorRef<Connection.Command> connection = ctx.spawnAnonymous(Connection.create(deps, late.outbound()));
          late.replyTo().tell(connection);
          ActorRef<Void> lateOne = tellShutdown(ctx, connection.unsafeUpcast(), retryAfter);
          return replyTo.isPresent()
              ? closing(ctx, deps, retryAfter, replyTo, told + 1, with(open, lateOne))
              : Behaviors.same();
        })
        .onMessage(Closed.class, closed -> open.contains(closed.connection())
            ? closing(ctx, deps, retryAfter, replyTo, told, without(open, closed.connection()))
            : Behaviors.same())
        .onMessage(ShutdownAll.class, again -> {
          again.replyTo().tell(0);
          return Behaviors.same();
        })
        .onMessage(Count.class, count -> count(ctx, count))
        .build();
  }

  private static Behavior<Command> count(ActorContext<Command> ctx, Count count) {
    count.replyTo().tell(ctx.getChildren().size());
    return Behaviors.same();
  }

  private static ActorRef<Void> tellShutdown(ActorContext<Command> ctx, ActorRef<Void> child, Duration retryAfter) {
    child.<Connection.Command>unsafeUpcast().tell(new Connection.Shutdown(retryAfter));
    ctx.watchWith(child, new Closed(child));
    return child;
  }

  private static Set<ActorRef<Void>> with(Set<ActorRef<Void>> set, ActorRef<Void> element) {
    Set<ActorRef<Void>> copy = new HashSet<>(set);
    copy.add(element);
    return Set.copyOf(copy);
  }

  private static Set<ActorRef<Void>> without(Set<ActorRef<Void>> set, ActorRef<Void> element) {
    Set<ActorRef<Void>> copy = new HashSet<>(set);
    copy.remove(element);
    return Set.copyOf(copy);
  }
}
