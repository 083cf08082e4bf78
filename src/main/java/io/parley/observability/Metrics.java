package io.parley.observability;

import java.time.Duration;
import kamon.Kamon;
import kamon.metric.Counter;
import kamon.metric.Gauge;
import kamon.metric.Histogram;
import kamon.metric.MeasurementUnit;

/**
 * Parley's own instruments, exported through Kamon (docs/adr/0015). Tags carry only bounded, non-identifying
 * values (an error code, an entity type): never an account, device, conversation, handle or content.
 * Instruments record whether or not a reporter is running; {@link MetricsEndpoint} exports them.
 */
public final class Metrics {
  private static final Gauge CONNECTIONS = Kamon.gauge("parley.connections",
      "Live WebSocket connections of this node").withoutTags();
  private static final Counter ACCEPTED = Kamon.counter("parley.messages.accepted",
      "Messages stored and acknowledged").withoutTags();
  private static final Counter DUPLICATES = Kamon.counter("parley.messages.duplicates",
      "Sends of an idempotency key already stored: acknowledged with the original seq, nothing stored").withoutTags();
  private static final Histogram SEND_TO_ACK = Kamon.histogram("parley.send.ack.latency",
      "From a send frame read to its ack written, for messages stored", MeasurementUnit.time().nanoseconds())
      .withoutTags();
  private static final Counter PUSHES = Kamon.counter("parley.delivery.pushes",
      "Conversation events pushed to bound device connections").withoutTags();
  private static final Histogram PERSIST = Kamon.histogram("parley.journal.persist.latency",
      "From a conversation's persist to the journal's confirmation", MeasurementUnit.time().nanoseconds())
      .withoutTags();

  private static final Counter INTENT_CACHE_HITS = Kamon.counter("parley.intent.cache.hits",
      "Intent decisions served from the shared cache").withoutTags();
  private static final Counter INTENT_CACHE_MISSES = Kamon.counter("parley.intent.cache.misses",
      "Intent decisions classified because the shared cache had none (or did not answer)").withoutTags();
  private static final Counter INTENT_CACHE_ERRORS = Kamon.counter("parley.intent.cache.errors",
      "Intent cache reads or writes that failed or timed out").withoutTags();
  private static final Counter INTENT_REMOTE_FAILURES = Kamon.counter("parley.intent.remote.failures",
      "Remote classifier calls that failed or timed out and were classified locally instead").withoutTags();
  private static final Histogram ROUTING_HIT = Kamon.histogram("parley.routing.latency",
      "From a text handed to intent routing to its decision", MeasurementUnit.time().nanoseconds())
      .withTag("cache", "hit");
  private static final Histogram ROUTING_MISS = Kamon.histogram("parley.routing.latency",
      "From a text handed to intent routing to its decision", MeasurementUnit.time().nanoseconds())
      .withTag("cache", "miss");

  private static final Counter PRESENCE_FAILURES = Kamon.counter("parley.presence.redis.failures",
      "Presence reads and writes that Redis failed or did not answer in time").withoutTags();

  private Metrics() {}

  public static void presenceFailed() {
    PRESENCE_FAILURES.increment();
  }

  // ---- agents: tagged by agent id (operator-chosen names, bounded by the registry), never by user ----

  /** One POST of a CloudEvent to an agent: {@code accepted} (2xx), {@code rejected} (4xx for good), {@code failed}. */
  public static void agentEvent(String agentId, String outcome) {
    Kamon.counter("parley.agent.events", "CloudEvents POSTed to agents, by answer")
        .withTag("agent", agentId).withTag("outcome", outcome).increment();
  }

  /** A user's message reached its agent {@code latency} after the agent's device received it. */
  public static void agentDelivered(String agentId, Duration latency) {
    Kamon.histogram("parley.agent.delivery.latency",
            "From a message taken by the agent's device to the agent service accepting it",
            MeasurementUnit.time().nanoseconds())
        .withTag("agent", agentId).record(latency.toNanos());
  }

  /** 1 while the agent's circuit is open on this node (it failed repeatedly and is not being called). */
  public static void agentCircuitOpen(String agentId, boolean open) {
    Kamon.gauge("parley.agent.circuit.open", "1 while calls to the agent are suspended after repeated failures")
        .withTag("agent", agentId).update(open ? 1 : 0);
  }

  /** A reply event from an agent, by kind (message, partial, typing) and outcome (accepted, duplicate, …). */
  public static void agentReply(String agentId, String kind, String outcome) {
    Kamon.counter("parley.agent.replies", "Reply events from agents, by kind and outcome")
        .withTag("agent", agentId).withTag("kind", kind).withTag("outcome", outcome).increment();
  }

  public static void connectionOpened() {
    CONNECTIONS.increment();
  }

  public static void connectionClosed() {
    CONNECTIONS.decrement();
  }

  /** A send was acknowledged: a newly stored message after {@code latency}, or a duplicate. */
  public static void acknowledged(boolean duplicate, Duration latency) {
    if (duplicate) {
      DUPLICATES.increment();
    } else {
      ACCEPTED.increment();
      SEND_TO_ACK.record(latency.toNanos());
    }
  }

  /** A send was refused with the protocol error {@code code} (one of a fixed set of wire codes). */
  public static void rejected(String code) {
    Kamon.counter("parley.messages.rejected", "Sends refused, by protocol error code")
        .withTag("code", code).increment();
  }

  public static void pushed() {
    PUSHES.increment();
  }

  public static void persisted(Duration latency) {
    PERSIST.record(latency.toNanos());
  }

  /** An intent decision was made in {@code latency}: from the shared cache ({@code hit}) or by classifying. */
  public static void routed(boolean hit, Duration latency) {
    if (hit) {
      INTENT_CACHE_HITS.increment();
      ROUTING_HIT.record(latency.toNanos());
    } else {
      INTENT_CACHE_MISSES.increment();
      ROUTING_MISS.record(latency.toNanos());
    }
  }

  public static void intentCacheFailed() {
    INTENT_CACHE_ERRORS.increment();
  }

  public static void remoteClassifierFailed() {
    INTENT_REMOTE_FAILURES.increment();
  }
}
