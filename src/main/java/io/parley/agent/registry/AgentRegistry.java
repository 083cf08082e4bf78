package io.parley.agent.registry;

import io.parley.agent.AgentSettings.RegistrySettings;
import io.parley.agent.AgentSpec;
import io.parley.agent.RegistrySnapshot;
import io.parley.serialization.CborSerializable;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.function.Supplier;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.DispatcherSelector;
import org.apache.pekko.actor.typed.SupervisorStrategy;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.TimerScheduler;
import org.apache.pekko.cluster.ddata.LWWRegister;
import org.apache.pekko.cluster.ddata.SelfUniqueAddress;
import org.apache.pekko.cluster.ddata.typed.javadsl.DistributedData;
import org.apache.pekko.cluster.ddata.typed.javadsl.Replicator;
import org.apache.pekko.cluster.ddata.typed.javadsl.ReplicatorMessageAdapter;
import org.apache.pekko.cluster.typed.ClusterSingleton;
import org.apache.pekko.cluster.typed.SingletonActor;

/**
 * The agent registry's owner: a cluster singleton that reads the registered agents (MongoDB), the discovered
 * ones (Kubernetes, when on) and the built-in ones, every refresh interval and at once on {@link Refresh}; gives
 * the result a version that grows whenever the content changes ({@link RegistryVersions}); and distributes it to
 * every node through Distributed Data and to Redis for nodes yet to start (docs/adr/0016). Routing never asks it
 * anything: each node reads its own {@link LocalRoutingTable}.
 *
 * <p>Agents with one id from several sources: built-in wins over registered, registered over discovered.
 */
public final class AgentRegistry {
  static final String SINGLETON_NAME = "agent-registry";
  // a snapshot larger than this still travels, but is worth an operator's attention (remoting frames are 256 KiB)
  private static final int LARGE_SNAPSHOT_BYTES = 128 * 1024;

  public sealed interface Command {}

  /** Re-read the registry now (after an admin change). Sent to the singleton from any node. */
  public enum Refresh implements Command, CborSerializable { INSTANCE }

  private enum Tick implements Command { INSTANCE }

  private enum Stop implements Command { INSTANCE }

  private record Loaded(RegistrySnapshot snapshot) implements Command {}

  private record LoadFailed(Throwable cause) implements Command {}

  private record Distributed(long version, Replicator.UpdateResponse<LWWRegister<DistributedSnapshot>> response)
      implements Command {}

  /** Where the singleton reads agents from and writes snapshots to. */
  public record Sources(AgentStore store, RegistryVersions versions, Optional<KubernetesDiscovery> kubernetes,
                        Supplier<List<AgentSpec>> builtIns, SnapshotCache cache, Clock clock) {}

  /** A node's part of the registry: its routing table, and the way to ask the singleton for a refresh. */
  public record Node(LocalRoutingTable routing, ActorRef<Command> singleton) {
    public void refresh() {
      singleton.tell(Refresh.INSTANCE);
    }
  }

  /**
   * Starts the registry on this node: the routing table (from the Redis cache, then the cluster) and the
   * singleton (which runs on the oldest node; every node must call this).
   */
  public static Node start(ActorSystem<?> system, RegistrySettings settings, Sources sources) {
    LocalRoutingTable routing = RegistryReplica.start(system, sources.cache());
    return new Node(routing, initSingleton(system, settings, sources));
  }

  /** The singleton alone, and a proxy to it from this node. */
  public static ActorRef<Command> initSingleton(ActorSystem<?> system, RegistrySettings settings, Sources sources) {
    return ClusterSingleton.get(system).init(SingletonActor.of(
            Behaviors.supervise(create(settings, sources))
                .onFailure(SupervisorStrategy.restartWithBackoff(Duration.ofSeconds(1), Duration.ofSeconds(30), 0.2)),
            SINGLETON_NAME)
        .withStopMessage(Stop.INSTANCE));
  }

  public static Behavior<Command> create(RegistrySettings settings, Sources sources) {
    return Behaviors.setup(context -> Behaviors.withTimers(timers ->
        DistributedData.<Command, LWWRegister<DistributedSnapshot>>withReplicatorMessageAdapter(replicator ->
            new AgentRegistry(context, timers, replicator, settings, sources).start())));
  }

  private final ActorContext<Command> context;
  private final ReplicatorMessageAdapter<Command, LWWRegister<DistributedSnapshot>> replicator;
  private final RegistrySettings settings;
  private final Sources sources;
  private final Executor blocking;
  private final SelfUniqueAddress self;

  private AgentRegistry(ActorContext<Command> context, TimerScheduler<Command> timers,
                        ReplicatorMessageAdapter<Command, LWWRegister<DistributedSnapshot>> replicator,
                        RegistrySettings settings, Sources sources) {
    this.context = context;
    this.replicator = replicator;
    this.settings = settings;
    this.sources = sources;
    this.blocking = context.getSystem().dispatchers().lookup(DispatcherSelector.blocking());
    this.self = DistributedData.get(context.getSystem()).selfUniqueAddress();
    timers.startTimerWithFixedDelay(Tick.INSTANCE, settings.refreshInterval());
  }

  private Behavior<Command> start() {
    context.getLog().info("Agent registry singleton started; refreshing every {}", settings.refreshInterval());
    return load(0);
  }

  /** Waiting for the next tick or refresh; {@code published} is the last version this incarnation distributed. */
  private Behavior<Command> idle(long published) {
    return Behaviors.receive(Command.class)
        .onMessage(Refresh.class, r -> load(published))
        .onMessage(Tick.class, t -> load(published))
        .onMessage(Distributed.class, this::onDistributed)
        .onMessage(Stop.class, s -> Behaviors.stopped())
        .build();
  }

  /** A load is running; {@code again}: a refresh arrived meanwhile and needs a load of its own after it. */
  private Behavior<Command> loading(long published, boolean again) {
    return Behaviors.receive(Command.class)
        .onMessage(Refresh.class, r -> loading(published, true))
        .onMessage(Tick.class, t -> loading(published, true))
        .onMessage(Loaded.class, loaded -> onLoaded(published, again, loaded.snapshot()))
        .onMessage(LoadFailed.class, failed -> onFailed(published, again, failed.cause()))
        .onMessage(Distributed.class, this::onDistributed)
        .onMessage(Stop.class, s -> Behaviors.stopped())
        .build();
  }

  private Behavior<Command> load(long published) {
    context.pipeToSelf(CompletableFuture.supplyAsync(() -> read(published), blocking),
        (snapshot, error) -> error == null ? new Loaded(snapshot) : new LoadFailed(error));
    return loading(published, false);
  }

  private Behavior<Command> onLoaded(long published, boolean again, RegistrySnapshot snapshot) {
    long now = published;
    if (snapshot.version() > published) {
      distribute(snapshot);
      now = snapshot.version();
    }
    return again ? load(now) : idle(now);
  }

  private Behavior<Command> onFailed(long published, boolean again, Throwable cause) {
    Throwable reason = cause instanceof java.util.concurrent.CompletionException && cause.getCause() != null
        ? cause.getCause() : cause;
    context.getLog().warn("Agent registry refresh failed; nodes keep version {}: {}", published, reason.toString());
    return again ? load(published) : idle(published);
  }

  private void distribute(RegistrySnapshot snapshot) {
    DistributedSnapshot value = DistributedSnapshot.of(snapshot);
    if (value.gzippedJson().length > LARGE_SNAPSHOT_BYTES) {
      context.getLog().warn("Agent registry snapshot {} is {} bytes compressed: consider fewer example utterances",
          snapshot.version(), value.gzippedJson().length);
    }
    replicator.askUpdate(replyTo -> new Replicator.Update<>(DistributedSnapshot.KEY,
            LWWRegister.create(self, value, DistributedSnapshot.VERSION_CLOCK),
            new Replicator.WriteAll(settings.distributionTimeout()), replyTo,
            register -> register.getValue().version() >= value.version()
                ? register : register.withValue(self, value, DistributedSnapshot.VERSION_CLOCK)),
        response -> new Distributed(value.version(), response));
    context.getLog().info("Agent registry version {} distributed ({} agents)", snapshot.version(),
        snapshot.agents().size());
  }

  private Behavior<Command> onDistributed(Distributed distributed) {
    if (!(distributed.response() instanceof Replicator.UpdateSuccess)) {
      // the local replica has it; gossip carries it to the nodes the write did not reach
      context.getLog().info("Agent registry version {} not yet confirmed by every node: {}", distributed.version(),
          distributed.response().getClass().getSimpleName());
    }
    return Behaviors.same();
  }

  /** Blocking: reads every source, settles the version, caches a new version in Redis. */
  private RegistrySnapshot read(long published) {
    List<AgentSpec> agents = merge(sources.builtIns().get(), sources.store().specs(),
        sources.kubernetes().map(KubernetesDiscovery::discover).orElse(List.of()));
    String hash = SnapshotCodec.contentHash(agents);
    RegistryVersions.ConcurrentUpdateException conflict = null;
    for (int attempt = 0; attempt < 3; attempt++) {
      try {
        RegistryVersions.Published seen = sources.versions().current();
        long version = sources.versions().versionFor(seen, hash, sources.clock().instant());
        RegistrySnapshot snapshot = new RegistrySnapshot(version, sources.clock().instant(), agents);
        if (version > published) {
          sources.cache().write(snapshot);
        }
        return snapshot;
      } catch (RegistryVersions.ConcurrentUpdateException e) {
        conflict = e;
      }
    }
    throw conflict;
  }

  static List<AgentSpec> merge(List<AgentSpec> builtIn, List<AgentSpec> registered, List<AgentSpec> discovered) {
    Map<String, AgentSpec> byId = new LinkedHashMap<>();
    for (List<AgentSpec> source : List.of(builtIn, registered, discovered)) {
      for (AgentSpec agent : source) {
        byId.putIfAbsent(agent.id(), agent);
      }
    }
    return new ArrayList<>(byId.values());
  }
}
