package io.parley;

import com.nimbusds.jose.jwk.JWK;
import com.nimbusds.jose.jwk.JWKSet;
import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import io.parley.admin.NodeStats;
import io.parley.agent.AgentSettings;
import io.parley.agent.Agents;
import io.parley.agent.gateway.AgentTokens;
import io.parley.auth.DevTokenIssuer;
import io.parley.auth.TokenVerifier;
import io.parley.cluster.ClusterFormation;
import io.parley.cluster.NodeHealth;
import io.parley.config.ParleySettings;
import io.parley.conversation.Conversation;
import io.parley.conversation.ConversationHistory;
import io.parley.directory.ClaimRateLimiter;
import io.parley.directory.DeviceDirectory;
import io.parley.directory.KeyDirectory;
import io.parley.directory.KeyDirectoryRoutes;
import io.parley.directory.ShardedDeviceDirectory;
import io.parley.gateway.Connection;
import io.parley.gateway.Connections;
import io.parley.gateway.HttpEdge;
import io.parley.identity.Accounts;
import io.parley.identity.Pepper;
import io.parley.inbox.Inbox;
import io.parley.session.SessionFanout;
import io.parley.limits.RateLimits;
import io.parley.observability.MetricsEndpoint;
import io.parley.presence.Presence;
import io.parley.presence.PresenceStore;
import io.parley.protocol.FrameCodec;
import io.parley.redis.KeyedHash;
import io.parley.redis.RedisConnection;
import io.parley.session.DeviceSession;
import io.parley.store.MongoStore;
import java.net.InetSocketAddress;
import java.net.URI;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import org.apache.pekko.actor.CoordinatedShutdown;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.cluster.sharding.typed.javadsl.ClusterSharding;
import org.apache.pekko.http.javadsl.ServerBinding;

/** One Parley node, started in order: stores, the actor system, the entities, then the edge. */
public final class ParleyNode {
  public static final String READ_JOURNAL = "pekko-contrib-mongodb-persistence-readjournal";

  private final ActorSystem<Void> system;
  private final ServerBinding binding;
  private final MongoStore store;
  private final DeviceDirectory directory;
  private final CompletableFuture<Void> stopped;

  private ParleyNode(ActorSystem<Void> system, ServerBinding binding, MongoStore store, DeviceDirectory directory,
                     CompletableFuture<Void> stopped) {
    this.system = system;
    this.binding = binding;
    this.store = store;
    this.directory = directory;
    this.stopped = stopped;
  }

  public static ParleyNode start(Config config) {
    ParleySettings settings = ParleySettings.from(config).validated();
    Clock clock = Clock.systemUTC();

    MetricsEndpoint.init(settings.metrics(), config);
    MongoStore store = MongoStore.start(settings.store());
    RedisConnection redis;
    try {
      redis = RedisConnection.start(settings.redis());
    } catch (RuntimeException e) {
      store.close();
      throw e;
    }
    ActorSystem<Void> system = ActorSystem.create(Behaviors.empty(), "parley",
        store.journalConfig().withFallback(config));
    // the node has stopped once its stores are closed, not merely when the actor system has terminated:
    // only then is the data dir free for the next node
    CompletableFuture<Void> stopped = system.getWhenTerminated().toCompletableFuture().thenRun(() -> {
      try {
        redis.close();
      } finally {
        store.close();
      }
    });
    try {
      NodeHealth health = NodeHealth.get(system);
      health.watchStore(store::isHealthy);
      health.watchRedis(redis::isHealthy);
      ClusterFormation.startManagement(system);
      ClusterFormation.join(system, settings.cluster());

      ClusterSharding sharding = ClusterSharding.get(system);
      ConversationHistory history = new ConversationHistory(system, READ_JOURNAL);
      Inbox.init(system, settings.session().maxDevicesPerUser(), clock, settings.session().inboxFlushInterval(),
          DeviceSession.deliveryThrough(sharding), settings.session().inboxPassivateIdleAfter());
      ShardedDeviceDirectory directory = ShardedDeviceDirectory.start(system, settings.directory(),
          settings.session().askTimeout(), clock);
      KeyDirectory.init(system, settings.directory(), settings.session().maxDevicesPerUser(), clock,
          directory.notices());
      Conversation.init(system, settings.conversation(), clock, new SessionFanout(sharding, directory), directory);
      DeviceSession.init(system, settings.session(), history);

      var dataDir = settings.store().embedded().dataDir();
      Optional<DevTokenIssuer> devTokens = settings.auth().devTokensEnabled()
          ? Optional.of(DevTokenIssuer.loadOrCreate(dataDir, settings.auth(), clock))
          : Optional.empty();
      AgentSettings agentSettings = AgentSettings.from(config);
      AgentTokens agentTokens = new AgentTokens(settings.auth(), clock);
      List<JWK> localKeys = new ArrayList<>();
      devTokens.ifPresent(issuer -> localKeys.addAll(issuer.publicKeys().getKeys()));
      if (agentSettings.enabled()) {
        localKeys.addAll(agentTokens.publicKeys().getKeys());
      }
      TokenVerifier verifier = TokenVerifier.create(settings.auth(), clock,
          localKeys.isEmpty() ? Optional.empty() : Optional.of(new JWKSet(localKeys)));
      byte[] pepper = Pepper.loadOrCreate(settings.identity(), dataDir);
      Accounts accounts = new Accounts(store.database(), pepper, clock);
      KeyDirectoryRoutes keys = new KeyDirectoryRoutes(system,
          new ClaimRateLimiter(redis.client(), pepper, settings.directory(), clock), settings.session().askTimeout());

      KeyedHash redisNames = new KeyedHash(pepper);
      RateLimits limits = new RateLimits(redis.client(), redisNames, settings.rateLimits(), clock);
      limits.settleEvery(system.scheduler(), settings.rateLimits().settleInterval(), system.executionContext());
      // the requests allowed since the last tick go to Redis before the node leaves (a rolling restart)
      CoordinatedShutdown.get(system).addTask(CoordinatedShutdown.PhaseServiceStop(), "parley-settle-limits",
          () -> limits.settle().thenApply(settled -> org.apache.pekko.Done.getInstance()));
      ActorRef<Presence.Command> presence = system.systemActorOf(Presence.create(
          new PresenceStore(redis.client(), redisNames, settings.presence(), java.util.UUID.randomUUID().toString()),
          sharding, settings.presence(), settings.session().askTimeout()), "presence",
          org.apache.pekko.actor.typed.Props.empty());
      ActorRef<Connections.Command> connections = system.systemActorOf(Connections.create(
          new Connection.Deps(verifier, sharding, history, settings.session(), settings.protocol(), new FrameCodec(),
              directory, presence, limits)),
          "connections", org.apache.pekko.actor.typed.Props.empty());
      Optional<Agents> agents = agentSettings.enabled()
          ? Optional.of(Agents.start(system, agentSettings, settings, store.database(), redis.client(), pepper,
              redisNames, agentTokens, verifier, limits, directory, clock))
          : Optional.empty();
      NodeStats.start(system, connections, settings.session().askTimeout());
      MetricsEndpoint.start(system, settings.metrics()).toCompletableFuture()
          .get(30, java.util.concurrent.TimeUnit.SECONDS);
      ServerBinding binding = HttpEdge.start(system, settings, verifier, devTokens, accounts, connections, keys,
              limits, agents.map(Agents::route))
          .toCompletableFuture().get(30, java.util.concurrent.TimeUnit.SECONDS);
      agents.ifPresent(started -> {
        started.edgeBound(URI.create("http://" + loopbackOf(binding.localAddress())));
        CoordinatedShutdown.get(system).addTask(CoordinatedShutdown.PhaseServiceStop(), "parley-agents", () -> {
          started.close();
          return CompletableFuture.completedFuture(org.apache.pekko.Done.getInstance());
        });
      });
      health.edgeReady(true);
      CoordinatedShutdown.get(system).addTask(CoordinatedShutdown.PhaseBeforeServiceUnbind(), "parley-not-ready",
          () -> {
            health.edgeReady(false);
            return java.util.concurrent.CompletableFuture.completedFuture(org.apache.pekko.Done.getInstance());
          });
      return new ParleyNode(system, binding, store, directory, stopped);
    } catch (Exception e) {
      system.terminate();
      throw new IllegalStateException("Parley node failed to start: " + e.getMessage(), e);
    }
  }

  /** The edge as this node reaches it itself: loopback when it listens on every address. */
  private static String loopbackOf(InetSocketAddress address) {
    String host = address.getAddress().isAnyLocalAddress() ? "127.0.0.1" : address.getAddress().getHostAddress();
    return (host.contains(":") ? "[" + host + "]" : host) + ":" + address.getPort();
  }

  public static ParleyNode start() {
    return start(ConfigFactory.load());
  }

  public ActorSystem<Void> system() {
    return system;
  }

  /** The node's view of every account's device list (with its node-local cache). */
  public DeviceDirectory deviceDirectory() {
    return directory;
  }

  public InetSocketAddress httpAddress() {
    return binding.localAddress();
  }

  public String mongoConnectionString() {
    return store.connectionString();
  }

  /** Completes when the actor system has terminated and the node's stores are closed. */
  public CompletionStage<Void> whenStopped() {
    return stopped;
  }

  /** Graceful stop through coordinated shutdown; returns when the node has stopped and released its data dir. */
  public void stop(Duration timeout) {
    system.terminate();
    try {
      stopped.get(timeout.toMillis(), java.util.concurrent.TimeUnit.MILLISECONDS);
    } catch (Exception e) {
      throw new IllegalStateException("node did not stop within " + timeout, e);
    }
  }
}
