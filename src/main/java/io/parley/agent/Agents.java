package io.parley.agent;

import com.mongodb.client.MongoDatabase;
import io.parley.admin.AdminCredentials;
import io.parley.admin.AdminRouteRegistry;
import io.parley.agent.demo.DemoAgents;
import io.parley.agent.events.AcceptedEvents;
import io.parley.agent.events.AgentEventRoutes;
import io.parley.agent.events.AgentReply;
import io.parley.agent.events.AgentReplySink;
import io.parley.agent.events.HttpAgentDispatcher;
import io.parley.agent.events.UnwrappedSecrets;
import io.parley.agent.gateway.AgentAvailability;
import io.parley.agent.gateway.AgentDataKeys;
import io.parley.agent.gateway.AgentGateway;
import io.parley.agent.gateway.AgentGatewayDeps;
import io.parley.agent.gateway.AgentTokens;
import io.parley.agent.gateway.ConversationRoutes;
import io.parley.agent.kms.KeyEncryptionKey;
import io.parley.agent.kms.LocalKeyFileKek;
import io.parley.agent.registry.AgentAdminRoutes;
import io.parley.agent.registry.AgentDirectoryRoutes;
import io.parley.agent.registry.AgentRegistry;
import io.parley.agent.registry.AgentSecrets;
import io.parley.agent.registry.AgentStore;
import io.parley.agent.registry.KubernetesDiscovery;
import io.parley.agent.registry.RegistryVersions;
import io.parley.agent.registry.SnapshotCache;
import io.parley.agent.routing.IntentClassifier;
import io.parley.agent.routing.IntentClassifiers;
import io.parley.auth.TokenVerifier;
import io.parley.config.ParleySettings;
import io.parley.config.SecretFile;
import io.parley.directory.DeviceDirectory;
import io.parley.limits.RateLimits;
import io.parley.redis.KeyedHash;
import java.net.URI;
import java.net.http.HttpClient;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Clock;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.atomic.AtomicReference;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.DispatcherSelector;
import org.apache.pekko.http.javadsl.server.Directives;
import org.apache.pekko.http.javadsl.server.Route;
import org.redisson.api.RedissonClient;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Puts the agents' parts together on one node: the key-encryption key, the registry (singleton + local routing
 * table), the classifier, CloudEvents out and in, the gateway, and in the embedded profile the demo agents.
 * Started in two steps: {@link #start} before the client edge binds (it contributes routes and the gateway's
 * token key), {@link #edgeBound} once the node's own address is known (the gateway's clients connect to it).
 */
public final class Agents implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(Agents.class);
  static final String KEK_FILE = "agent-kek";
  static final String DEMO_SECRET_FILE = "agent-demo-secret";

  private final ActorSystem<?> system;
  private final AgentSettings settings;
  private final ParleySettings node;
  private final AgentRegistry.Node registry;
  private final KeyEncryptionKey kek;
  private final AgentGatewayDeps.Partial partial;
  private final HttpAgentDispatcher dispatcher;
  private final AtomicReference<List<AgentSpec>> demoSpecs = new AtomicReference<>(List.of());
  private final Route route;
  private volatile AgentGateway gateway;
  private volatile DemoAgents demo;

  /** Built before the edge; the edge adds {@link #route()} and the token verifier {@link AgentTokens#publicKeys()}. */
  private Agents(ActorSystem<?> system, AgentSettings settings, ParleySettings node, MongoDatabase db,
                 RedissonClient redis, byte[] pepper, KeyedHash names, AgentTokens tokens, TokenVerifier verifier,
                 RateLimits limits,
                 DeviceDirectory devices, Clock clock) {
    this.system = system;
    this.settings = settings;
    this.node = node;
    this.kek = keyEncryptionKey(settings, node);
    AgentAccounts accounts = new AgentAccounts(pepper);
    AgentSpec frontDoor = new AgentSpec(settings.gateway().frontDoorId(), settings.gateway().frontDoorName(),
        Optional.empty(), "Hands each message to the agent best suited to it.", List.of(), "", true,
        AgentSpec.Source.BUILT_IN, accounts.accountIdOf(settings.gateway().frontDoorId()));
    java.util.function.Supplier<List<AgentSpec>> builtIns = () -> {
      List<AgentSpec> all = new ArrayList<>();
      all.add(frontDoor);
      all.addAll(demoSpecs.get());
      return all;
    };
    AgentStore store = new AgentStore(db, kek, accounts, clock);
    Optional<KubernetesDiscovery> kubernetes = settings.registry().kubernetes().enabled()
        ? Optional.of(new KubernetesDiscovery(KubernetesDiscovery.connect(), settings.registry().kubernetes(), kek,
            accounts))
        : Optional.empty();
    this.registry = AgentRegistry.start(system, settings.registry(), new AgentRegistry.Sources(store,
        new RegistryVersions(db), kubernetes, builtIns,
        new SnapshotCache(redis, settings.registry().redisKey()), clock));
    RoutingTable routing = registry.routing();
    // agents speak in many users' conversations: their sends are not limited per user
    limits.exempt(routing::isAgentAccount);

    IntentClassifier classifier = IntentClassifiers.create(settings.classifier(), redis, names,
        HttpClient.newHttpClient(), system.dispatchers().lookup(DispatcherSelector.defaultDispatcher()), clock);
    UnwrappedSecrets secrets = new UnwrappedSecrets(kek);
    this.dispatcher = new HttpAgentDispatcher(system, settings.dispatch(), secrets, clock);
    this.partial = new AgentGatewayDeps.Partial(db, new AgentDataKeys(db, kek, clock), accounts, tokens, routing,
        classifier, dispatcher, new AgentAvailability(dispatcher), new ConversationRoutes(db, clock),
        settings.gateway().frontDoorId(), clock);

    AdminRouteRegistry.get(system).add(new AgentAdminRoutes(system, AdminCredentials.of(node.auth().adminToken()),
        store, routing, registry::refresh, builtIns).route());
    this.route = Directives.concat(
        new AgentDirectoryRoutes(verifier, routing, settings.gateway().frontDoorId(),
            account -> devices.cachedDevices(account).thenApply(list -> !list.devices().isEmpty())).route(),
        new AgentEventRoutes(system, routing, secrets, this::toGateway, new AcceptedEvents(redis, names),
            settings.dispatch(), clock).route());
  }

  public static Agents start(ActorSystem<?> system, AgentSettings settings, ParleySettings node, MongoDatabase db,
                             RedissonClient redis, byte[] pepper, KeyedHash names, AgentTokens tokens,
                             TokenVerifier verifier,
                             RateLimits limits, DeviceDirectory devices, Clock clock) {
    return new Agents(system, settings, node, db, redis, pepper, names, tokens, verifier, limits, devices, clock);
  }

  /** The client-port routes: the users' agent list and the agents' replies. */
  public Route route() {
    return route;
  }

  /** The edge listens at {@code edge}: start the gateway there, and the demo agents when configured. */
  public void edgeBound(URI edge) {
    AgentGateway started = AgentGateway.start(system, partial.at(edge), node.session().askTimeout());
    registry.routing().onChange(snapshot -> started.ensureAll());
    gateway = started;
    if (settings.demo().startWithNode() && node.profile() == ParleySettings.Profile.EMBEDDED) {
      startDemo(edge);
    }
  }

  private void startDemo(URI edge) {
    String secret = SecretFile.readOrCreate(node.store().embedded().dataDir().resolve(DEMO_SECRET_FILE),
        Agents::newSecret);
    DemoAgents agents = DemoAgents.start(DemoAgents.Options.from(settings.demo(), edge, secret, secret,
        System.getenv()));
    demo = agents;
    String echo = settings.demo().echoId();
    String openAi = settings.demo().openAiId();
    AgentAccounts accounts = partial.accounts();
    demoSpecs.set(List.of(
        new AgentSpec(echo, "Echo", Optional.of(agents.echoEndpoint()),
            "Answers questions about Parley itself: what Parley is, how its end-to-end encryption works, how to"
                + " chat, help with the app; repeats anything else back.",
            List.of("what is parley", "how does the encryption work", "is my chat end-to-end encrypted",
                "help", "how do I start a conversation", "echo this back to me", "who can read my messages"),
            AgentSecrets.seal(kek, echo, secret), true, AgentSpec.Source.BUILT_IN, accounts.accountIdOf(echo)),
        new AgentSpec(openAi, "Assistant (LLM)", Optional.of(agents.openAiEndpoint()),
            "A general assistant backed by a language model: writing, explaining, summarising, answering"
                + " open questions about anything.",
            List.of("write a poem about the sea", "explain quantum computing simply", "summarise this article",
                "what is the capital of australia", "help me draft an email to my landlord",
                "give me ideas for dinner"),
            AgentSecrets.seal(kek, openAi, secret), true, AgentSpec.Source.BUILT_IN, accounts.accountIdOf(openAi))));
    registry.refresh();
    log.info("Demo agents '{}' and '{}' listening on port {}", echo, openAi, agents.port());
  }

  private static KeyEncryptionKey keyEncryptionKey(AgentSettings settings, ParleySettings node) {
    String file = settings.gateway().kekFile();
    if (!file.isBlank()) {
      return LocalKeyFileKek.open(Path.of(file), false);
    }
    if (node.profile() == ParleySettings.Profile.PRODUCTION) {
      throw new IllegalArgumentException("production profile: PARLEY_AGENT_KEK_FILE is required (the agents'"
          + " key-encryption key, the same on every node), or set PARLEY_AGENTS_ENABLED=false");
    }
    return LocalKeyFileKek.open(node.store().embedded().dataDir().resolve(KEK_FILE), true);
  }

  private static String newSecret() {
    byte[] bytes = new byte[32];
    new SecureRandom().nextBytes(bytes);
    return Base64.getUrlEncoder().withoutPadding().encodeToString(bytes);
  }

  @Override
  public void close() {
    if (gateway != null) {
      gateway.close();
    }
    if (demo != null) {
      demo.close();
    }
    dispatcher.close();
  }

  /** Agent replies go to the gateway; before it has started, agents are asked to retry. */
  private CompletionStage<AgentReplySink.Outcome> toGateway(AgentReply reply) {
    AgentGateway started = gateway;
    return started == null ? CompletableFuture.completedFuture(AgentReplySink.Outcome.UNAVAILABLE)
        : started.accept(reply);
  }
}
