package io.parley.agent.routing;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.parley.agent.AgentSpec;
import io.parley.agent.RegistrySnapshot;
import io.parley.agent.routing.FallbackPolicy.Candidate;
import io.parley.observability.Metrics;
import io.parley.observability.ThrottledWarning;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Clock;
import java.time.Duration;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Asks a classifier service over HTTP (docs/adr/0017): {@code POST url} with
 * {@code {"text", "registryVersion", "agents": [{"id", "description", "examples"}]}} (the routable agents),
 * answered {@code 200 {"agentId": "<id>" | null, "confidence": <0..1>}}. The {@link FallbackPolicy} then
 * applies the threshold and fallback agent as for local classification. When the service fails, answers
 * anything else (another status, malformed JSON, an agent that is not routable, a confidence outside
 * [0, 1]) or takes longer than {@code timeout}, the text is classified by {@code local} instead, so routing
 * never stops: counted ({@link #failures()}, {@code parley_intent_remote_failures_total}) and logged at most
 * once a minute. The text crosses the network in this call: the service must be as trusted as an agent.
 * Thread-safe.
 */
public final class RemoteIntentClassifier implements IntentClassifier {
  private static final Logger log = LoggerFactory.getLogger(RemoteIntentClassifier.class);
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final Duration WARN_EVERY = Duration.ofMinutes(1);

  private final URI url;
  private final Duration timeout;
  private final HttpClient http;
  private final FallbackPolicy policy;
  private final IntentClassifier local;
  private final ThrottledWarning warning;
  private final AtomicLong failures = new AtomicLong();
  /** The routable agents of the last snapshot seen and their JSON, built once per snapshot, not per message. */
  private final AtomicReference<Prepared> prepared = new AtomicReference<>();

  private record Prepared(RegistrySnapshot snapshot, Map<String, AgentSpec> routable, ArrayNode agents) {
    static Prepared of(RegistrySnapshot snapshot) {
      Map<String, AgentSpec> routable = snapshot.routable();
      ArrayNode agents = JSON.createArrayNode();
      for (AgentSpec spec : routable.values()) {
        ObjectNode agent = agents.addObject();
        agent.put("id", spec.id());
        agent.put("description", spec.description());
        ArrayNode examples = agent.putArray("examples");
        spec.examples().forEach(examples::add);
      }
      return new Prepared(snapshot, routable, agents);
    }
  }

  public RemoteIntentClassifier(URI url, Duration timeout, HttpClient http, FallbackPolicy policy,
                                IntentClassifier local, Clock clock) {
    this.url = url;
    this.timeout = timeout;
    this.http = http;
    this.policy = policy;
    this.local = local;
    this.warning = new ThrottledWarning(clock, WARN_EVERY);
  }

  @Override
  public CompletionStage<IntentDecision> classify(String text, RegistrySnapshot snapshot) {
    Prepared agents = preparedFor(snapshot);
    Map<String, AgentSpec> routable = agents.routable();
    if (routable.isEmpty()) {
      return CompletableFuture.failedFuture(new NoRoutableAgentException(snapshot.version()));
    }
    HttpRequest request = HttpRequest.newBuilder(url)
        .timeout(timeout)
        .header("Content-Type", "application/json")
        .header("Accept", "application/json")
        .POST(HttpRequest.BodyPublishers.ofString(body(text, snapshot.version(), agents.agents())))
        .build();
    return http.sendAsync(request, HttpResponse.BodyHandlers.ofString())
        .orTimeout(timeout.toMillis(), TimeUnit.MILLISECONDS)
        .thenApply(response -> policy.decide(candidate(response, routable), routable, snapshot.version()))
        .exceptionallyCompose(failure -> {
          failed(failure);
          return local.classify(text, snapshot);
        });
  }

  /** Calls that failed and were classified locally. */
  public long failures() {
    return failures.get();
  }

  /** Keyed by the snapshot instance: the node hands out one instance until a newer one replaces it. */
  private Prepared preparedFor(RegistrySnapshot snapshot) {
    Prepared known = prepared.get();
    if (known != null && known.snapshot() == snapshot) {
      return known;
    }
    Prepared fresh = Prepared.of(snapshot);
    prepared.set(fresh);
    return fresh;
  }

  private static String body(String text, long version, ArrayNode agents) {
    ObjectNode body = JSON.createObjectNode();
    body.put("text", text);
    body.put("registryVersion", version);
    body.set("agents", agents);
    try {
      return JSON.writeValueAsString(body);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static Optional<Candidate> candidate(HttpResponse<String> response, Map<String, AgentSpec> routable) {
    if (response.statusCode() != 200) {
      throw new RemoteAnswerException("status " + response.statusCode());
    }
    JsonNode answer;
    try {
      answer = JSON.readTree(response.body());
    } catch (IOException e) {
      throw new RemoteAnswerException("not JSON");
    }
    if (answer == null || !answer.isObject()) {
      throw new RemoteAnswerException("not a JSON object");
    }
    JsonNode agent = answer.get("agentId");
    if (agent == null || agent.isNull()) {
      return Optional.empty();
    }
    JsonNode confidence = answer.get("confidence");
    if (!agent.isTextual() || !routable.containsKey(agent.asText())) {
      throw new RemoteAnswerException("an agent that is not routable");
    }
    if (confidence == null || !confidence.isNumber() || !(confidence.asDouble() >= 0 && confidence.asDouble() <= 1)) {
      throw new RemoteAnswerException("no confidence between 0 and 1");
    }
    return Optional.of(new Candidate(agent.asText(), confidence.asDouble()));
  }

  private void failed(Throwable failure) {
    long count = failures.incrementAndGet();
    Metrics.remoteClassifierFailed();
    if (warning.due()) {
      Throwable cause = failure.getCause() != null ? failure.getCause() : failure;
      log.warn("Remote intent classifier at {} failed, classifying locally ({} failures so far): {}", url, count,
          cause.toString());
    }
  }

  /** The service answered, but not with a decision this node can use. */
  private static final class RemoteAnswerException extends RuntimeException {
    RemoteAnswerException(String message) {
      super("remote classifier answered " + message, null, false, false);
    }
  }
}
