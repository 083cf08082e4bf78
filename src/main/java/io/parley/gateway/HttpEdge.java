package io.parley.gateway;

import static org.apache.pekko.http.javadsl.server.PathMatchers.segment;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.sun.management.UnixOperatingSystemMXBean;
import io.parley.auth.DevTokenIssuer;
import io.parley.auth.Principal;
import io.parley.auth.TokenVerifier;
import io.parley.config.ParleySettings;
import io.parley.directory.KeyDirectoryRoutes;
import io.parley.identity.Accounts;
import io.parley.limits.RateLimits;
import io.parley.limits.RedisRateLimit;
import java.lang.management.ManagementFactory;
import java.time.Duration;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Executor;
import java.util.function.Function;
import org.apache.pekko.Done;
import org.apache.pekko.actor.CoordinatedShutdown;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.DispatcherSelector;
import org.apache.pekko.actor.typed.javadsl.AskPattern;
import org.apache.pekko.http.impl.engine.ws.UpgradeToWebSocketLowLevel;
import org.apache.pekko.http.javadsl.Http;
import org.apache.pekko.http.javadsl.ServerBinding;
import org.apache.pekko.http.javadsl.model.AttributeKeys;
import org.apache.pekko.http.javadsl.model.RemoteAddress;
import org.apache.pekko.http.javadsl.model.StatusCode;
import org.apache.pekko.http.javadsl.model.StatusCodes;
import org.apache.pekko.http.javadsl.model.headers.RawHeader;
import org.apache.pekko.http.javadsl.server.AllDirectives;
import org.apache.pekko.http.javadsl.server.Route;
import org.apache.pekko.http.javadsl.unmarshalling.Unmarshaller;
import org.slf4j.LoggerFactory;
import scala.Option;

/**
 * The node's public HTTP edge: the WebSocket endpoint, account lookup, the key directory and, in the
 * embedded profile only, the dev token endpoint. Every endpoint authenticates: the WebSocket through its hello frame, the rest
 * through a bearer token.
 */
public final class HttpEdge extends AllDirectives {
  /** Descriptors a node needs beside its client sockets: store, Redis, cluster, jars, logs. */
  private static final int FILE_DESCRIPTOR_HEADROOM = 1_000;

  private static final ObjectMapper JSON = JsonMapper.builder()
      .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
      .build();

  private final ActorSystem<?> system;
  private final ParleySettings settings;
  private final TokenVerifier verifier;
  private final Optional<DevTokenIssuer> devTokens;
  private final Accounts accounts;
  private final ActorRef<Connections.Command> connections;
  private final KeyDirectoryRoutes keys;
  private final Executor blocking;
  private final RateLimits limits;
  private final ClientAddress clientAddress;
  private final WebSocketFlow.Layers webSocketLayers;

  private HttpEdge(ActorSystem<?> system, ParleySettings settings, TokenVerifier verifier,
                   Optional<DevTokenIssuer> devTokens, Accounts accounts, ActorRef<Connections.Command> connections,
                   KeyDirectoryRoutes keys, RateLimits limits) {
    this.system = system;
    this.settings = settings;
    this.verifier = verifier;
    this.devTokens = devTokens;
    this.accounts = accounts;
    this.connections = connections;
    this.keys = keys;
    this.blocking = system.dispatchers().lookup(DispatcherSelector.blocking());
    this.limits = limits;
    this.clientAddress = new ClientAddress(settings.rateLimits().trustedProxies());
    this.webSocketLayers = new WebSocketFlow.Layers(system);
  }

  /** Binds the edge and registers its part in coordinated shutdown. */
  public static CompletionStage<ServerBinding> start(ActorSystem<?> system, ParleySettings settings,
      TokenVerifier verifier, Optional<DevTokenIssuer> devTokens, Accounts accounts,
      ActorRef<Connections.Command> connections, KeyDirectoryRoutes keys, RateLimits limits,
      Optional<Route> features) {
    HttpEdge edge = new HttpEdge(system, settings, verifier, devTokens, accounts, connections, keys, limits);
    Route routes = features.map(extra -> edge.concat(edge.routes(), extra)).orElseGet(edge::routes);
    warnIfFewFileDescriptors(system);
    return Http.get(system).newServerAt(settings.http().host(), settings.http().port())
        .bind(routes)
        .thenApply(binding -> {
          edge.registerShutdown(binding);
          return binding;
        });
  }

  /** Every socket is a file descriptor: a process limit below max-connections fails before the limit does. */
  private static void warnIfFewFileDescriptors(ActorSystem<?> system) {
    int maxConnections = system.settings().config().getInt("pekko.http.server.max-connections");
    if (ManagementFactory.getOperatingSystemMXBean() instanceof UnixOperatingSystemMXBean unix
        && unix.getMaxFileDescriptorCount() < maxConnections + FILE_DESCRIPTOR_HEADROOM) {
      LoggerFactory.getLogger(HttpEdge.class).warn(
          "the process may open {} files, fewer than max-connections ({}) plus {} for the stores and the"
              + " cluster: raise the nofile limit or lower PARLEY_HTTP_MAX_CONNECTIONS",
          unix.getMaxFileDescriptorCount(), maxConnections, FILE_DESCRIPTOR_HEADROOM);
    }
  }

  Route routes() {
    return concat(
        path(segment("v1").slash("ws"), () -> get(() -> connectLimited(this::webSocket))),
        path(segment("v1").slash("accounts").slash("lookup"), () -> get(() -> authenticated(principal ->
            parameterOptional("handle", handle -> lookup(handle.orElse("")))))),
        pathPrefix(segment("v1").slash("keys"), () -> authenticated(keys::routes)),
        path(segment("v1").slash("dev").slash("token"), () -> post(() -> devTokens
            .map(issuer -> entity(Unmarshaller.entityToString(), body -> issueDevToken(issuer, body)))
            .orElseGet(() -> json(StatusCodes.NOT_FOUND, Map.of("error", "not_found"))))));
  }

  /**
   * A WebSocket upgrade: its connection actor is opened first, then the socket's stream is made for it. A node
   * that cannot open one in time (overloaded, or shutting down) answers 503, and the client retries.
   */
  private Route webSocket() {
    return extractWebSocketUpgrade(upgrade -> {
      Outbound outbound = new Outbound(settings.session().outboundBuffer());
      return onComplete(WebSocketFlow.open(system, connections, outbound), opened -> opened.isSuccess()
          // the frame-level upgrade: Parley's stage replaces pekko-http's message API (ADR 0025)
          ? complete(((UpgradeToWebSocketLowLevel) upgrade).handleFrames(
              webSocketLayers.socket(opened.get(), outbound, settings.protocol().maxFrameBytes()), Option.empty()))
          : json(StatusCodes.SERVICE_UNAVAILABLE, Map.of("error", "unavailable",
              "message", "the node could not open the connection in time; retry")));
    });
  }

  /** WebSocket upgrades per client address (ADR 0012): the excess gets 429 with Retry-After. */
  private Route connectLimited(java.util.function.Supplier<Route> inner) {
    return extractRequest(request -> optionalHeaderValueByName("X-Forwarded-For", forwardedFor -> {
      Optional<String> client = clientAddress.of(
          request.getAttribute(AttributeKeys.remoteAddress).flatMap(RemoteAddress::getAddress), forwardedFor);
      if (client.isEmpty()) {
        return inner.get();
      }
      return onSuccess(limits.tryConnect(client.get()), decision -> decision.allowed()
          ? inner.get()
          : tooManyConnects(decision));
    }));
  }

  private Route tooManyConnects(RedisRateLimit.Decision decision) {
    long seconds = Math.max(1, (decision.retryAfterMs() + 999) / 1000);
    return respondWithHeader(RawHeader.create("Retry-After", Long.toString(seconds)), () ->
        json(StatusCodes.TOO_MANY_REQUESTS, Map.of("error", "rate_limited",
            "message", "too many connections from this address", "retryAfterMs", decision.retryAfterMs())));
  }

  private Route lookup(String handle) {
    return onSuccess(CompletableFuture.supplyAsync(() -> safely(() -> accounts.lookup(handle)), blocking),
        result -> result.<Route>map(found -> found
                .map(id -> json(StatusCodes.OK, Map.of("accountId", id)))
                .orElseGet(() -> json(StatusCodes.NOT_FOUND, Map.of("error", "unknown_handle"))))
            .orElseGet(() -> json(StatusCodes.BAD_REQUEST, Map.of("error", "invalid_handle"))));
  }

  private Route issueDevToken(DevTokenIssuer issuer, String body) {
    String handle;
    try {
      JsonNode field = JSON.readTree(body).path("handle");
      handle = field.isTextual() ? field.textValue() : "";
    } catch (Exception e) {
      return json(StatusCodes.BAD_REQUEST, Map.of("error", "malformed_json"));
    }
    return onSuccess(CompletableFuture.supplyAsync(() -> safely(() -> accounts.accountIdFor(handle)), blocking),
        result -> result
            .map(accountId -> json(StatusCodes.OK, Map.of("accountId", accountId, "token", issuer.issue(accountId))))
            .orElseGet(() -> json(StatusCodes.BAD_REQUEST, Map.of("error", "invalid_handle"))));
  }

  private Route authenticated(Function<Principal, Route> inner) {
    return BearerTokens.authenticated(verifier, inner);
  }

  private Route json(StatusCode status, Map<String, ?> body) {
    return JsonRoutes.json(status, body);
  }

  /** Runs an account operation; an invalid handle becomes an empty result. */
  private static <T> Optional<T> safely(java.util.function.Supplier<T> operation) {
    try {
      return Optional.of(operation.get());
    } catch (IllegalArgumentException invalidHandle) {
      return Optional.empty();
    }
  }

  private void registerShutdown(ServerBinding binding) {
    CoordinatedShutdown shutdown = CoordinatedShutdown.get(system);
    shutdown.addTask(CoordinatedShutdown.PhaseServiceUnbind(), "parley-stop-accepting", () -> binding.unbind());
    // connections first answer what they have in flight (each request ends within the ask timeout), so the
    // entities are idle before sharding hands them off; the phase's timeout in http.conf leaves room for it
    Duration drain = settings.session().askTimeout().plusSeconds(2);
    shutdown.addTask(CoordinatedShutdown.PhaseServiceRequestsDone(), "parley-reconnect-clients", () ->
        AskPattern.<Connections.Command, Integer>ask(connections,
                replyTo -> new Connections.ShutdownAll(Duration.ofMillis(500), replyTo),
                drain, system.scheduler())
            .exceptionally(stillOpen -> -1)
            .thenCompose(told -> binding.terminate(Duration.ofSeconds(5)))
            .thenApply(terminated -> Done.getInstance()));
  }
}
