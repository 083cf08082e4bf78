package io.parley.cluster;

import java.util.concurrent.CompletionStage;
import java.util.function.Supplier;
import org.apache.pekko.actor.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.Adapter;

/** Readiness check (pekko-management): Redis answers a ping. */
public final class RedisReadiness implements Supplier<CompletionStage<Boolean>> {
  private final ActorSystem system;

  public RedisReadiness(ActorSystem system) {
    this.system = system;
  }

  @Override
  public CompletionStage<Boolean> get() {
    return NodeHealth.get(Adapter.toTyped(system)).redisHealthy();
  }
}
