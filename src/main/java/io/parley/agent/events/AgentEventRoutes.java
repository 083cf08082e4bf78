package io.parley.agent.events;

import static org.apache.pekko.http.javadsl.server.PathMatchers.segment;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import io.cloudevents.CloudEvent;
import io.cloudevents.CloudEventData;
import io.cloudevents.http.HttpMessageFactory;
import io.cloudevents.rw.CloudEventRWException;
import io.parley.agent.AgentSettings.DispatchSettings;
import io.parley.agent.AgentSpec;
import io.parley.agent.RoutingTable;
import io.parley.agent.events.AgentReplySink.Outcome;
import io.parley.agent.kms.KeyEncryptionKey.KeyUnwrapException;
import io.parley.gateway.JsonRoutes;
import java.io.IOException;
import java.time.Clock;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.http.javadsl.model.ContentTypes;
import org.apache.pekko.http.javadsl.model.HttpHeader;
import org.apache.pekko.http.javadsl.model.HttpRequest;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.model.StatusCode;
import org.apache.pekko.http.javadsl.model.StatusCodes;
import org.apache.pekko.http.javadsl.model.headers.HttpChallenge;
import org.apache.pekko.http.javadsl.model.headers.RetryAfter;
import org.apache.pekko.http.javadsl.model.headers.WWWAuthenticate;
import org.apache.pekko.http.javadsl.server.AllDirectives;
import org.apache.pekko.http.javadsl.server.Route;
import org.apache.pekko.http.scaladsl.model.EntityStreamSizeException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * CloudEvents in: {@code POST /v1/agents/{agentId}/events}, an agent's reply in binary or structured
 * ({@code application/cloudevents+json}) mode. The agent authenticates with its secret, either as
 * {@code Authorization: Bearer <secret>} or as an {@link EventSignature} over the body; the agent must be in
 * the routing table and enabled. Types: {@value ParleyEvents#REPLY_MESSAGE}, {@value ParleyEvents#REPLY_PARTIAL},
 * {@value ParleyEvents#REPLY_TYPING}, each with the {@value ParleyEvents#EXT_CONVERSATION} extension.
 *
 * <p>The event id is the idempotency key: an id this agent had accepted before is answered
 * {@code 200 {"duplicate":true}} without reaching the sink ({@link AcceptedEvents}); the sink then dedups
 * again by the same id within the conversation. Status codes: 202 accepted, 200 duplicate, 400 malformed or
 * unknown type, 401 unauthenticated (nothing more said), 403 not in that conversation, 413 too large,
 * 503 with {@code Retry-After} when the gateway cannot take it now.
 */
public final class AgentEventRoutes extends AllDirectives {
  private static final Logger log = LoggerFactory.getLogger(AgentEventRoutes.class);
  private static final ObjectMapper JSON = JsonMapper.builder().build();
  private static final Duration READ_TIMEOUT = Duration.ofSeconds(10);
  private static final long RETRY_AFTER_SECONDS = 5;
  private static final int MAX_ID_LENGTH = 256;

  private final ActorSystem<?> system;
  private final RoutingTable routing;
  private final UnwrappedSecrets secrets;
  private final AgentReplySink sink;
  private final AcceptedEvents accepted;
  private final DispatchSettings settings;
  private final Clock clock;

  public AgentEventRoutes(ActorSystem<?> system, RoutingTable routing, UnwrappedSecrets secrets, AgentReplySink sink,
                          AcceptedEvents accepted, DispatchSettings settings, Clock clock) {
    this.system = system;
    this.routing = routing;
    this.secrets = secrets;
    this.sink = sink;
    this.accepted = accepted;
    this.settings = settings;
    this.clock = clock;
  }

  public Route route() {
    return path(segment("v1").slash("agents").slash(segment()).slash("events"), agentId ->
        post(() -> extractRequest(request -> completeWithFuture(handle(agentId, request)))));
  }

  CompletionStage<HttpResponse> handle(String agentId, HttpRequest request) {
    long max = settings.replyMaxBytes();
    if (request.entity().getContentLengthOption().orElse(0L) > max) {
      return CompletableFuture.completedFuture(tooLarge());
    }
    return request.entity().toStrict(READ_TIMEOUT.toMillis(), max, system)
        .thenCompose(strict -> accept(agentId, request, strict.getData().toArray()))
        .exceptionally(e -> {
          Throwable cause = e instanceof CompletionException && e.getCause() != null ? e.getCause() : e;
          if (cause instanceof EntityStreamSizeException) {
            return tooLarge();
          }
          log.warn("A reply of agent {} failed: {}", agentId, cause.toString());
          return unavailable();
        });
  }

  private CompletionStage<HttpResponse> accept(String agentId, HttpRequest request, byte[] body) {
    if (!authenticated(agentId, request, body)) {
      return CompletableFuture.completedFuture(json(StatusCodes.UNAUTHORIZED,
          Map.of("error", "unauthenticated"), WWWAuthenticate.create(HttpChallenge.create("Bearer", "parley-agents"))));
    }
    AgentReply reply;
    try {
      reply = parse(agentId, request, body);
    } catch (BadEvent e) {
      return CompletableFuture.completedFuture(json(StatusCodes.BAD_REQUEST,
          Map.of("error", e.code, "message", e.getMessage())));
    }
    return accepted.wasAccepted(agentId, reply.eventId()).thenCompose(seen -> seen
        ? CompletableFuture.completedFuture(duplicate())
        : sink.accept(reply).thenCompose(outcome -> respond(reply, outcome)));
  }

  private CompletionStage<HttpResponse> respond(AgentReply reply, Outcome outcome) {
    log.debug("Reply {} of agent {}: {}", reply.eventId(), reply.agentId(), outcome);
    return switch (outcome) {
      case ACCEPTED -> remember(reply).thenApply(done -> json(StatusCodes.ACCEPTED, Map.of("accepted", true)));
      case DUPLICATE -> remember(reply).thenApply(done -> duplicate());
      case NOT_IN_CONVERSATION -> CompletableFuture.completedFuture(json(StatusCodes.FORBIDDEN,
          Map.of("error", "not_in_conversation", "message", "the agent is not in that conversation")));
      case UNAVAILABLE -> CompletableFuture.completedFuture(unavailable());
    };
  }

  private CompletionStage<Void> remember(AgentReply reply) {
    Duration ttl = reply instanceof AgentReply.Final ? settings.replyDedupTtl() : settings.ephemeralDedupTtl();
    return accepted.markAccepted(reply.agentId(), reply.eventId(), ttl);
  }

  private boolean authenticated(String agentId, HttpRequest request, byte[] body) {
    Optional<AgentSpec> agent = routing.current().byId(agentId).filter(AgentSpec::enabled);
    if (agent.isEmpty()) {
      return false;
    }
    byte[] secret;
    try {
      secret = secrets.secretOf(agent.get());
    } catch (KeyUnwrapException e) {
      log.error("The secret of agent {} does not unwrap under this node's key-encryption key", agentId);
      return false;
    }
    Optional<String> authorization = header(request, "Authorization");
    if (authorization.isPresent()) {
      String value = authorization.get();
      return value.regionMatches(true, 0, "Bearer ", 0, 7)
          && EventSignature.bearerMatches(secret, value.substring(7).strip());
    }
    return EventSignature.verify(secret, header(request, ParleyEvents.HEADER_TIMESTAMP),
        header(request, ParleyEvents.HEADER_SIGNATURE), body, clock.instant(), settings.signatureMaxAge());
  }

  private static AgentReply parse(String agentId, HttpRequest request, byte[] body) throws BadEvent {
    Map<String, String> headers = new LinkedHashMap<>();
    for (HttpHeader header : request.getHeaders()) {
      headers.put(header.lowercaseName(), header.value());
    }
    if (!request.entity().getContentType().equals(ContentTypes.NO_CONTENT_TYPE)) {
      headers.put("content-type", request.entity().getContentType().toString());
    }
    CloudEvent event;
    try {
      event = HttpMessageFactory.createReader(headers, body).toEvent();
    } catch (CloudEventRWException | IllegalStateException e) {
      throw new BadEvent("malformed", "not a CloudEvent in binary or structured JSON mode: " + e.getMessage());
    }
    String id = event.getId();
    if (id.isBlank() || id.length() > MAX_ID_LENGTH) {
      throw new BadEvent("malformed", "the event id must have 1 to " + MAX_ID_LENGTH + " characters");
    }
    Object conversation = event.getExtension(ParleyEvents.EXT_CONVERSATION);
    if (conversation == null || conversation.toString().isBlank() || conversation.toString().length() > MAX_ID_LENGTH) {
      throw new BadEvent("malformed", "the extension attribute " + ParleyEvents.EXT_CONVERSATION
          + " (the conversation the reply belongs to) is required");
    }
    String conversationId = conversation.toString();
    JsonNode data = data(event);
    return switch (event.getType()) {
      case ParleyEvents.REPLY_MESSAGE -> new AgentReply.Final(agentId, id, conversationId, text(data, false));
      case ParleyEvents.REPLY_PARTIAL -> new AgentReply.Partial(agentId, id, conversationId, text(data, true));
      case ParleyEvents.REPLY_TYPING -> {
        JsonNode active = data.get("active");
        if (active == null || !active.isBoolean()) {
          throw new BadEvent("malformed", "a typing event's data is {\"active\": true|false}");
        }
        yield new AgentReply.Typing(agentId, id, conversationId, active.booleanValue());
      }
      default -> throw new BadEvent("unknown_type", "unknown event type '" + event.getType() + "'; expected "
          + ParleyEvents.REPLY_MESSAGE + ", " + ParleyEvents.REPLY_PARTIAL + " or " + ParleyEvents.REPLY_TYPING);
    };
  }

  private static JsonNode data(CloudEvent event) throws BadEvent {
    String contentType = event.getDataContentType();
    if (contentType != null && !contentType.toLowerCase().startsWith(ParleyEvents.JSON)) {
      throw new BadEvent("malformed", "the event data must be application/json");
    }
    CloudEventData data = event.getData();
    if (data == null) {
      throw new BadEvent("malformed", "the event has no data");
    }
    try {
      JsonNode node = JSON.readTree(data.toBytes());
      if (node == null || !node.isObject()) {
        throw new BadEvent("malformed", "the event data must be a JSON object");
      }
      return node;
    } catch (IOException e) {
      throw new BadEvent("malformed", "the event data is not JSON");
    }
  }

  private static String text(JsonNode data, boolean mayBeEmpty) throws BadEvent {
    JsonNode text = data.get("text");
    if (text == null || !text.isTextual() || (!mayBeEmpty && text.asText().isBlank())) {
      throw new BadEvent("malformed", "a reply's data is {\"text\": \"...\"}" + (mayBeEmpty ? "" : " with some text"));
    }
    return text.asText();
  }

  private static Optional<String> header(HttpRequest request, String name) {
    return request.getHeader(name).map(HttpHeader::value);
  }

  private HttpResponse tooLarge() {
    return json(StatusCodes.PAYLOAD_TOO_LARGE, Map.of("error", "too_large",
        "message", "an agent event may have at most " + settings.replyMaxBytes() + " bytes"));
  }

  private static HttpResponse duplicate() {
    return json(StatusCodes.OK, Map.of("duplicate", true));
  }

  private static HttpResponse unavailable() {
    return json(StatusCodes.SERVICE_UNAVAILABLE, Map.of("error", "unavailable",
        "message", "Parley cannot take the event now; send it again with the same id"),
        RetryAfter.create(RETRY_AFTER_SECONDS));
  }

  private static HttpResponse json(StatusCode status, Map<String, ?> body, HttpHeader... headers) {
    return JsonRoutes.response(status, body).addHeaders(java.util.List.of(headers));
  }

  /** The request is not an event Parley understands; {@code code} is the error's name in the answer. */
  private static final class BadEvent extends Exception {
    final String code;

    BadEvent(String code, String message) {
      super(message);
      this.code = code;
    }
  }
}
