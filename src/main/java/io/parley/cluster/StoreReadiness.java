package io.parley.cluster;

import java.util.concurrent.CompletionStage;
import java.util.function.Supplier;
import org.apache.pekko.actor.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.Adapter;

/** Readiness check (pekko-management): MongoDB answers a ping. */
public final class StoreReadiness implements Supplier<CompletionStage<Boolean>> {
  private final ActorSystem system;

  public StoreReadiness(ActorSystem system) {
    this.system = system;
  }

  @Override
  public CompletionStage<Boolean> get() {
    return NodeHealth.get(Adapter.toTyped(system)).storeHealthy();
  }
}
