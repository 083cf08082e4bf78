package io.parley.agent.events;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import io.cloudevents.CloudEvent;
import io.cloudevents.core.builder.CloudEventBuilder;
import io.cloudevents.http.HttpMessageFactory;
import io.parley.agent.AgentSettings.DispatchSettings;
import io.parley.agent.AgentSpec;
import io.parley.observability.Metrics;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Clock;
import java.time.Duration;
import java.time.ZoneOffset;
import java.util.ArrayDeque;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicBoolean;
import org.apache.pekko.actor.Cancellable;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.pattern.CircuitBreaker;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import scala.concurrent.ExecutionContextExecutor;

/**
 * CloudEvents out over HTTP: each message is a binary-mode CloudEvent of type
 * {@value ParleyEvents#MESSAGE_CREATED} whose id is the message's {@link AgentMessage#eventId()}, the same on
 * every retry, signed with the agent's secret ({@link EventSignature}).
 *
 * <p>Per agent: at most {@code max-concurrency} deliveries at a time (the others wait in arrival order,
 * none is dropped); a Pekko {@link CircuitBreaker} that opens after {@code breaker-max-failures} failures in
 * a row; retries after connection errors, timeouts, 408, 429 and 5xx with exponential backoff and full
 * jitter between {@code backoff-min} and {@code backoff-max}, for as long as it takes. A retry waiting while
 * the circuit is open is woken when the circuit half-opens (one of them, as the trial call) and when it
 * closes (all of them), so delivery resumes as soon as the agent is back. Another 4xx is the agent refusing
 * the event: {@link AgentRejectedException}, no retry.
 *
 * <p>A delivery keeps its place among the agent's {@code max-concurrency} while it backs off, so an agent
 * that is down holds back at most that many messages in retry and the rest in its queue; with
 * {@code max-concurrency = 1} an agent sees its messages in order. Neither message text nor sender is ever
 * logged.
 */
public final class HttpAgentDispatcher implements AgentDispatcher, AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(HttpAgentDispatcher.class);
  private static final ObjectMapper JSON = JsonMapper.builder().build();
  /** The breaker's own call timeout only backs up the HTTP client's, which normally fires first. */
  private static final Duration BREAKER_MARGIN = Duration.ofSeconds(1);
  private static final URI SOURCE = URI.create(ParleyEvents.SOURCE);

  private final ActorSystem<?> system;
  private final ExecutionContextExecutor executor;
  private final DispatchSettings settings;
  private final UnwrappedSecrets secrets;
  private final Clock clock;
  private final HttpClient http;
  private final Map<String, Lane> lanes = new ConcurrentHashMap<>();
  private final List<AvailabilityListener> listeners = new CopyOnWriteArrayList<>();
  private final AtomicBoolean closed = new AtomicBoolean();

  public HttpAgentDispatcher(ActorSystem<?> system, DispatchSettings settings, UnwrappedSecrets secrets, Clock clock) {
    this(system, settings, secrets, clock, HttpClient.newBuilder()
        .version(HttpClient.Version.HTTP_1_1)
        .connectTimeout(settings.timeout())
        .followRedirects(HttpClient.Redirect.NEVER)
        .build());
  }

  HttpAgentDispatcher(ActorSystem<?> system, DispatchSettings settings, UnwrappedSecrets secrets, Clock clock,
                      HttpClient http) {
    if (settings.maxConcurrency() < 1) {
      throw new IllegalArgumentException("parley.agents.dispatch.max-concurrency must be at least 1");
    }
    this.system = system;
    this.executor = system.executionContext();
    this.settings = settings;
    this.secrets = secrets;
    this.clock = clock;
    this.http = http;
  }

  @Override
  public CompletionStage<Void> deliver(AgentSpec agent, AgentMessage message) {
    CompletableFuture<Void> done = new CompletableFuture<>();
    if (closed.get()) {
      done.completeExceptionally(new IllegalStateException("the agent dispatcher is stopped"));
      return done;
    }
    Optional<URI> endpoint = agent.endpoint();
    if (endpoint.isEmpty()) {
      done.completeExceptionally(new IllegalArgumentException("agent " + agent.id() + " has no HTTP endpoint"));
      return done;
    }
    Delivery delivery;
    try {
      delivery = new Delivery(lane(agent.id()), endpoint.get(), secrets.secretOf(agent), message, done);
    } catch (RuntimeException e) {
      done.completeExceptionally(e);
      return done;
    }
    delivery.lane.enqueue(delivery);
    return done;
  }

  @Override
  public boolean isAvailable(String agentId) {
    Lane lane = lanes.get(agentId);
    // half-open counts as unavailable until its trial call has succeeded and the listeners were told
    return lane == null || lane.breaker.isClosed();
  }

  @Override
  public void onAvailabilityChange(AvailabilityListener listener) {
    listeners.add(listener);
  }

  /** Fails every delivery that has not reached its agent yet; the gateway delivers them again after a restart. */
  @Override
  public void close() {
    if (closed.compareAndSet(false, true)) {
      lanes.values().forEach(Lane::stop);
    }
  }

  /** One CloudEvent as it goes over the wire: the headers of binary mode and the body, fixed for every retry. */
  static Wire encode(AgentMessage message) {
    byte[] data;
    try {
      data = JSON.writeValueAsBytes(Map.of("text", message.text()));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    CloudEvent event = CloudEventBuilder.v1()
        .withId(message.eventId())
        .withType(ParleyEvents.MESSAGE_CREATED)
        .withSource(SOURCE)
        .withSubject(message.conversationId())
        .withTime(message.sentAt().atOffset(ZoneOffset.UTC))
        .withDataContentType(ParleyEvents.JSON)
        .withExtension(ParleyEvents.EXT_CONVERSATION, message.conversationId())
        .withExtension(ParleyEvents.EXT_SEQ, message.seq())
        .withExtension(ParleyEvents.EXT_SENDER, message.sender())
        .withData(data)
        .build();
    Map<String, String> headers = new LinkedHashMap<>();
    byte[][] body = new byte[1][];
    HttpMessageFactory.createWriter(headers::put, bytes -> body[0] = bytes).writeBinary(event);
    return new Wire(Map.copyOf(headers), body[0] == null ? new byte[0] : body[0]);
  }

  record Wire(Map<String, String> headers, byte[] body) {}

  private Lane lane(String agentId) {
    return lanes.computeIfAbsent(agentId, Lane::new);
  }

  private void announce(String agentId, boolean available) {
    Metrics.agentCircuitOpen(agentId, !available);
    for (AvailabilityListener listener : listeners) {
      try {
        listener.changed(agentId, available);
      } catch (RuntimeException e) {
        log.warn("An availability listener failed for agent {}", agentId, e);
      }
    }
  }

  private Duration backoff(int attempt) {
    long min = settings.backoffMin().toNanos();
    long max = Math.max(min, settings.backoffMax().toNanos());
    long ceiling = min << Math.min(attempt, 30);
    if (ceiling <= 0 || ceiling > max) {
      ceiling = max;
    }
    return Duration.ofNanos(min + ThreadLocalRandom.current().nextLong(ceiling - min + 1));
  }

  private static boolean retryable(int status) {
    return status == 408 || status == 429 || status >= 500;
  }

  /** An agent's queue, concurrency limit and circuit breaker. */
  private final class Lane {
    final String agentId;
    final CircuitBreaker breaker;
    private final ArrayDeque<Delivery> waiting = new ArrayDeque<>();
    private int active;
    private final Set<Sleep> sleeping = ConcurrentHashMap.newKeySet();

    Lane(String agentId) {
      this.agentId = agentId;
      this.breaker = new CircuitBreaker(executor, system.classicSystem().scheduler(),
          settings.breakerMaxFailures(), settings.timeout().plus(BREAKER_MARGIN), settings.breakerResetTimeout())
          .addOnOpenListener(this::opened)
          .addOnHalfOpenListener(this::halfOpened)
          .addOnCloseListener(this::closed);
    }

    void enqueue(Delivery delivery) {
      synchronized (this) {
        if (active >= settings.maxConcurrency()) {
          waiting.addLast(delivery);
          return;
        }
        active++;
      }
      executor.execute(delivery::attempt);
    }

    void release() {
      Delivery next;
      synchronized (this) {
        next = waiting.pollFirst();
        if (next == null) {
          active--;
          return;
        }
      }
      executor.execute(next::attempt);
    }

    void stop() {
      List<Delivery> pending;
      synchronized (this) {
        pending = List.copyOf(waiting);
        waiting.clear();
      }
      pending.forEach(Delivery::abandon);
      List.copyOf(sleeping).forEach(Sleep::abandon);
    }

    private void opened() {
      log.warn("Agent {} is failing: its circuit is open, deliveries wait and retry", agentId);
      announce(agentId, false);
    }

    private void halfOpened() {
      sleeping.stream().findFirst().ifPresent(Sleep::wake);
    }

    private void closed() {
      log.info("Agent {} answers again: its circuit is closed", agentId);
      announce(agentId, true);
      List.copyOf(sleeping).forEach(Sleep::wake);
    }
  }

  /** One message on its way to its agent, from its first attempt to the agent's 2xx (or refusal). */
  private final class Delivery {
    final Lane lane;
    final URI endpoint;
    final byte[] secret;
    final String eventId;
    final Wire wire;
    final CompletableFuture<Void> done;
    private int attempts;

    Delivery(Lane lane, URI endpoint, byte[] secret, AgentMessage message, CompletableFuture<Void> done) {
      this.lane = lane;
      this.endpoint = endpoint;
      this.secret = secret;
      this.eventId = message.eventId();
      this.wire = encode(message);
      this.done = done;
    }

    void attempt() {
      if (closed.get()) {
        abandon();
        return;
      }
      attempts++;
      lane.breaker.<Integer>callWithCircuitBreakerCS(this::post,
              (status, error) -> error.isPresent() || status.map(HttpAgentDispatcher::retryable).orElse(true))
          .whenComplete(this::answered);
    }

    private CompletionStage<Integer> post() {
      long timestamp = clock.instant().getEpochSecond();
      HttpRequest.Builder request = HttpRequest.newBuilder(endpoint)
          .timeout(settings.timeout())
          .header(ParleyEvents.HEADER_TIMESTAMP, Long.toString(timestamp))
          .header(ParleyEvents.HEADER_SIGNATURE, EventSignature.sign(secret, timestamp, wire.body()))
          .POST(HttpRequest.BodyPublishers.ofByteArray(wire.body()));
      wire.headers().forEach(request::header);
      return http.sendAsync(request.build(), HttpResponse.BodyHandlers.discarding()).thenApply(HttpResponse::statusCode);
    }

    private void answered(Integer status, Throwable error) {
      if (error == null && status / 100 == 2) {
        Metrics.agentEvent(lane.agentId, "accepted");
        lane.release();
        done.complete(null);
      } else if (error == null && !retryable(status)) {
        log.warn("Agent {} refused event {} with status {}", lane.agentId, eventId, status);
        Metrics.agentEvent(lane.agentId, "rejected");
        lane.release();
        done.completeExceptionally(new AgentRejectedException(status,
            "agent " + lane.agentId + " refused event " + eventId + " with status " + status));
      } else {
        Metrics.agentEvent(lane.agentId, "failed");
        retryLater(error == null ? "status " + status : error.getClass().getSimpleName());
      }
    }

    private void retryLater(String reason) {
      if (closed.get()) {
        abandon();
        return;
      }
      Duration delay = backoff(attempts - 1);
      log.debug("Event {} to agent {} failed ({}), attempt {}; retrying in {} ms",
          eventId, lane.agentId, reason, attempts, delay.toMillis());
      Sleep sleep = new Sleep(this);
      lane.sleeping.add(sleep);
      sleep.timer = system.scheduler().scheduleOnce(delay, sleep::wake, executor);
    }

    void abandon() {
      done.completeExceptionally(new IllegalStateException("the agent dispatcher is stopped"));
    }
  }

  /** A delivery backing off: woken by its timer or by the circuit half-opening or closing, whichever is first. */
  private static final class Sleep {
    final Delivery delivery;
    final AtomicBoolean over = new AtomicBoolean();
    volatile Cancellable timer;

    Sleep(Delivery delivery) {
      this.delivery = delivery;
    }

    void wake() {
      if (end()) {
        delivery.attempt();
      }
    }

    void abandon() {
      if (end()) {
        delivery.abandon();
      }
    }

    private boolean end() {
      if (!over.compareAndSet(false, true)) {
        return false;
      }
      delivery.lane.sleeping.remove(this);
      Cancellable t = timer;
      if (t != null) {
        t.cancel();
      }
      return true;
    }
  }
}
