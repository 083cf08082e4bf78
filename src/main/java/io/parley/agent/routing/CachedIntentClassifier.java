package io.parley.agent.routing;

import io.parley.agent.AgentSpec;
import io.parley.agent.RegistrySnapshot;
import io.parley.observability.Metrics;
import io.parley.observability.ThrottledWarning;
import io.parley.redis.KeyedHash;
import java.time.Clock;
import java.time.Duration;
import java.util.Locale;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Function;
import org.redisson.api.RBucket;
import org.redisson.api.RedissonClient;
import org.redisson.client.codec.StringCodec;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Intent decisions shared by every node through Redis for {@code ttl} (docs/adr/0017). The key is
 * {@code parley:intent:} and an HMAC under the identity pepper ({@link KeyedHash}, purpose {@code intent})
 * of the registry snapshot's version and the {@link Utterance#normalise normalised} text, so Redis holds no
 * text and a registry change never serves a decision made against older agents. The value is the decision
 * alone: {@code 1 <agent id> <confidence> <0|1 fallback>}.
 *
 * <p>A read that fails or takes longer than {@code timeout} counts as a miss: the text is classified by the
 * inner classifier and routing goes on. Such failures are counted ({@link #failures()}, and
 * {@code parley_intent_cache_errors_total}) and logged at most once a minute. Hits and misses are counted here
 * and in {@code parley_intent_cache_hits_total} / {@code _misses_total}, the routing latency in
 * {@code parley_routing_latency_seconds{cache="hit|miss"}}. On a miss the inner classifier runs where the
 * read completed (a Redis client thread), unless it runs on an executor of its own. Thread-safe.
 */
public final class CachedIntentClassifier implements IntentClassifier {
  public static final String KEY_PREFIX = "parley:intent:";

  private static final Logger log = LoggerFactory.getLogger(CachedIntentClassifier.class);
  private static final String PURPOSE = "intent";
  private static final String FORMAT = "1";
  private static final Duration WARN_EVERY = Duration.ofMinutes(1);

  private final IntentClassifier inner;
  private final RedissonClient redis;
  private final KeyedHash names;
  private final Duration ttl;
  private final Duration timeout;
  private final ThrottledWarning warning;
  private final AtomicLong hits = new AtomicLong();
  private final AtomicLong misses = new AtomicLong();
  private final AtomicLong failures = new AtomicLong();

  /**
   * @param ttl     how long a decision is kept ({@code parley.agents.classifier.cache-ttl})
   * @param timeout how long a read may take before it counts as a miss ({@code cache-timeout})
   * @param clock   for spacing the warnings about Redis
   */
  public CachedIntentClassifier(IntentClassifier inner, RedissonClient redis, KeyedHash names, Duration ttl,
                                Duration timeout, Clock clock) {
    if (ttl.isNegative() || ttl.isZero() || timeout.isNegative() || timeout.isZero()) {
      throw new IllegalArgumentException("ttl and timeout must be positive");
    }
    this.inner = inner;
    this.redis = redis;
    this.names = names;
    this.ttl = ttl;
    this.timeout = timeout;
    this.warning = new ThrottledWarning(clock, WARN_EVERY);
  }

  @Override
  public CompletionStage<IntentDecision> classify(String text, RegistrySnapshot snapshot) {
    // durations with the monotonic clock: the injected one is wall time
    long start = System.nanoTime();
    RBucket<String> bucket = redis.getBucket(keyOf(text, snapshot), StringCodec.INSTANCE);
    return bucket.getAsync().toCompletableFuture()
        .thenApply(Function.identity())
        .orTimeout(timeout.toMillis(), TimeUnit.MILLISECONDS)
        .handle((value, failure) -> {
          if (failure != null) {
            failed("read", failure);
            return Optional.<IntentDecision>empty();
          }
          return parse(value, snapshot);
        })
        .thenCompose(cached -> {
          if (cached.isPresent()) {
            hits.incrementAndGet();
            Metrics.routed(true, Duration.ofNanos(System.nanoTime() - start));
            return CompletableFuture.completedFuture(cached.get());
          }
          misses.incrementAndGet();
          return inner.classify(text, snapshot).thenApply(decision -> {
            store(bucket, decision);
            Metrics.routed(false, Duration.ofNanos(System.nanoTime() - start));
            return new IntentDecision(decision.agentId(), decision.confidence(), decision.fallback(), false);
          });
        });
  }

  /** Decisions served from Redis. */
  public long hits() {
    return hits.get();
  }

  /** Decisions classified: not in Redis, unusable, or Redis did not answer in time. */
  public long misses() {
    return misses.get();
  }

  /** Reads and writes that failed or timed out. */
  public long failures() {
    return failures.get();
  }

  /** The Redis key of a text's decision against a snapshot. */
  String keyOf(String text, RegistrySnapshot snapshot) {
    return KEY_PREFIX + names.of(PURPOSE, snapshot.version() + ":" + Utterance.normalise(text));
  }

  private void store(RBucket<String> bucket, IntentDecision decision) {
    String value = FORMAT + " " + decision.agentId() + " "
        + String.format(Locale.ROOT, "%.6f", decision.confidence()) + " " + (decision.fallback() ? "1" : "0");
    bucket.setAsync(value, ttl).whenComplete((done, failure) -> {
      if (failure != null) {
        failed("write", failure);
      }
    });
  }

  /** A stored decision, if it is well formed and its agent is routable in the snapshot. */
  private static Optional<IntentDecision> parse(String value, RegistrySnapshot snapshot) {
    if (value == null) {
      return Optional.empty();
    }
    String[] parts = value.split(" ");
    if (parts.length != 4 || !parts[0].equals(FORMAT) || !AgentSpec.isValidId(parts[1])
        || !snapshot.byId(parts[1]).map(AgentSpec::routable).orElse(false)
        || !(parts[3].equals("0") || parts[3].equals("1"))) {
      return Optional.empty();
    }
    double confidence;
    try {
      confidence = Double.parseDouble(parts[2]);
    } catch (NumberFormatException e) {
      return Optional.empty();
    }
    if (!(confidence >= 0 && confidence <= 1)) {
      return Optional.empty();
    }
    return Optional.of(new IntentDecision(parts[1], confidence, parts[3].equals("1"), true));
  }

  private void failed(String what, Throwable failure) {
    long count = failures.incrementAndGet();
    Metrics.intentCacheFailed();
    if (warning.due()) {
      log.warn("Intent cache {} failed, classifying directly ({} failures so far): {}", what, count,
          failure.toString());
    }
  }
}
