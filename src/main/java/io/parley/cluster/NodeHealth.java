package io.parley.cluster;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.function.BooleanSupplier;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.DispatcherSelector;
import org.apache.pekko.actor.typed.Extension;
import org.apache.pekko.actor.typed.ExtensionId;

/** What the node's readiness checks look at: filled in by the node as its parts start. */
public final class NodeHealth implements Extension {
  private static final ExtensionId<NodeHealth> ID = new ExtensionId<>() {
    @Override
    public NodeHealth createExtension(ActorSystem<?> system) {
      return new NodeHealth(system);
    }
  };

  private final ActorSystem<?> system;
  private volatile BooleanSupplier store = () -> false;
  private volatile BooleanSupplier redis = () -> false;
  private volatile boolean edgeReady;

  private NodeHealth(ActorSystem<?> system) {
    this.system = system;
  }

  public static NodeHealth get(ActorSystem<?> system) {
    return ID.apply(system);
  }

  public void watchStore(BooleanSupplier healthy) {
    this.store = healthy;
  }

  public void watchRedis(BooleanSupplier healthy) {
    this.redis = healthy;
  }

  public void edgeReady(boolean ready) {
    this.edgeReady = ready;
  }

  CompletionStage<Boolean> storeHealthy() {
    return probe(store);
  }

  CompletionStage<Boolean> redisHealthy() {
    return probe(redis);
  }

  boolean isEdgeReady() {
    return edgeReady;
  }

  /** Health probes do network I/O: keep them off the default dispatcher. */
  private CompletionStage<Boolean> probe(BooleanSupplier check) {
    return CompletableFuture.supplyAsync(check::getAsBoolean, system.dispatchers().lookup(DispatcherSelector.blocking()));
  }
}
