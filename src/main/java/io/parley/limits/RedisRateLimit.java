package io.parley.limits;

import io.parley.observability.ThrottledWarning;
import io.parley.redis.KeyedHash;
import java.time.Clock;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.redisson.api.RRateLimiter;
import org.redisson.api.RateType;
import org.redisson.api.RedissonClient;
import org.redisson.client.codec.ByteArrayCodec;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One cluster-wide limit, {@code permits} in any {@code interval} per subject, with a Redisson
 * {@link RRateLimiter} (a sliding window). Keys name the subject by a {@link KeyedHash}, never by the
 * subject itself, carry the rate (so a changed setting applies at once) and expire two intervals after the
 * last use. When Redis does not answer within {@code timeout} or fails, the request is let through (fail
 * open): counted in {@link #failedOpen()} and logged at most once a minute.
 */
public final class RedisRateLimit {
  private static final Logger log = LoggerFactory.getLogger(RedisRateLimit.class);
  private static final Duration WARN_EVERY = Duration.ofMinutes(1);

  /** {@code retryAfterMs}: when the next attempt can succeed (0 when allowed). */
  public record Decision(boolean allowed, long retryAfterMs) {
    public static final Decision ALLOWED = new Decision(true, 0);
  }

  private final RedissonClient redis;
  private final KeyedHash hash;
  private final String purpose;
  private final long permits;
  private final Duration interval;
  private final Duration timeout;
  private final Clock clock;
  private final String prefix;
  private final AtomicLong failedOpen = new AtomicLong();
  private final ThrottledWarning warning;

  /**
   * @param name    the key's name part, e.g. {@code claims}: keys are {@code parley:<name>:<rate>:<hash>}
   * @param purpose the hash label, so that two limits never share a hash of the same subject
   */
  public RedisRateLimit(RedissonClient redis, KeyedHash hash, String name, String purpose, long permits,
                        Duration interval, Duration timeout, Clock clock) {
    this.redis = redis;
    this.hash = hash;
    this.purpose = purpose;
    this.permits = permits;
    this.interval = interval;
    this.timeout = timeout;
    this.clock = clock;
    this.warning = new ThrottledWarning(clock, WARN_EVERY);
    this.prefix = "parley:" + name + ":" + permits + "per" + interval.toMillis() + "ms:";
  }

  public CompletionStage<Decision> tryAcquire(String subject) {
    String name = prefix + hash.of(purpose, subject);
    RRateLimiter limiter = redis.getRateLimiter(name);
    return attempt(limiter)
        // the limiter's keys can expire between setting the rate and acquiring: set it again once
        .exceptionallyCompose(failure -> attempt(limiter))
        .thenCompose(allowed -> allowed
            ? CompletableFuture.completedFuture(Decision.ALLOWED)
            : retryAfter(name).thenApply(ms -> new Decision(false, ms)))
        .toCompletableFuture()
        .orTimeout(timeout.toMillis(), TimeUnit.MILLISECONDS)
        .exceptionally(this::failOpen);
  }

  /** How many checks were let through because Redis did not answer. */
  public long failedOpen() {
    return failedOpen.get();
  }

  private Decision failOpen(Throwable failure) {
    failedOpen.incrementAndGet();
    if (warning.due()) {
      log.warn("{} rate limit unavailable, letting requests through ({} so far): {}", purpose, failedOpen.get(),
          failure.toString());
    }
    return Decision.ALLOWED;
  }

  private CompletionStage<Boolean> attempt(RRateLimiter limiter) {
    return limiter.trySetRateAsync(RateType.OVERALL, permits, interval, interval.multipliedBy(2))
        .thenCompose(set -> limiter.tryAcquireAsync());
  }

  /**
   * Until the oldest permit in the window leaves it. Redisson keeps the window's permits in a sorted set
   * scored by time next to the limiter; without one, an even share of the interval.
   */
  private CompletionStage<Long> retryAfter(String name) {
    long evenShare = Math.max(1, interval.toMillis() / permits);
    return redis.getScoredSortedSet("{" + name + "}:permits", ByteArrayCodec.INSTANCE).firstScoreAsync()
        .thenApply(oldest -> oldest == null
            ? evenShare
            : Math.max(1, oldest.longValue() + interval.toMillis() - clock.millis()))
        .exceptionally(failure -> evenShare);
  }
}
