package io.parley.cluster;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.function.Supplier;
import org.apache.pekko.actor.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.Adapter;

/** Readiness check (pekko-management): The HTTP edge is bound and not shutting down. */
public final class EdgeReadiness implements Supplier<CompletionStage<Boolean>> {
  private final ActorSystem system;

  public EdgeReadiness(ActorSystem system) {
    this.system = system;
  }

  @Override
  public CompletionStage<Boolean> get() {
    return CompletableFuture.completedFuture(NodeHealth.get(Adapter.toTyped(system)).isEdgeReady());
  }
}
