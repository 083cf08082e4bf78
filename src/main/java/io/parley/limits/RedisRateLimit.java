package io.parley.limits;

import io.parley.observability.ThrottledWarning;
import io.parley.redis.KeyedHash;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.atomic.AtomicLong;
import org.redisson.api.RScript;
import org.redisson.api.RedissonClient;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One cluster-wide limit per subject, made of one or more bands ("20 per second" and "300 per minute"), all
 * checked in a single Redis round trip by one Lua script. Each band is a generic cell rate algorithm (GCRA):
 * Redis keeps one number per band and subject, the theoretical arrival time, which allows {@code permits}
 * at once and then one every {@code interval / permits}. A request is allowed only if every band allows it,
 * and only an allowed request takes a permit, so a refusal leaves no trace. The answer of a refusal is when
 * the next attempt can succeed.
 *
 * <p>Keys name the subject by a {@link KeyedHash}, never by the subject itself, carry the rate (so a changed
 * setting applies at once), share one hash tag (so a Redis cluster keeps them in one slot) and expire when
 * their band is full again. When Redis does not answer within {@code timeout} or fails, the request is let
 * through (fail open): counted in {@link #failedOpen()} and logged at most once a minute (ADR 0012).
 */
public final class RedisRateLimit {
  private static final Logger log = LoggerFactory.getLogger(RedisRateLimit.class);
  private static final Duration WARN_EVERY = Duration.ofMinutes(1);

  /**
   * KEYS: one per band. ARGV: per band, the emission interval and the band's interval, in milliseconds.
   * Returns 0 when allowed (and then advances every band), otherwise the milliseconds until it would be.
   */
  static final String SCRIPT = """
      local time = redis.call('TIME')
      local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
      local wait = 0
      local tats = {}
      for i, key in ipairs(KEYS) do
        local emission = tonumber(ARGV[2 * i - 1])
        local interval = tonumber(ARGV[2 * i])
        local tat = tonumber(redis.call('GET', key) or '0')
        if tat < now then tat = now end
        tats[i] = tat + emission
        local over = tats[i] - interval - now
        if over > wait then wait = over end
      end
      if wait > 0 then return math.max(1, math.ceil(wait)) end
      for i, key in ipairs(KEYS) do
        redis.call('SET', key, tostring(tats[i]), 'PX', math.max(1, math.ceil(tats[i] - now)))
      end
      return 0
      """;

  /** A bucket of {@code permits} that refills at {@code permits / interval}: that many at once, then that rate. */
  public record Band(long permits, Duration interval) {
    public Band {
      if (permits < 1 || interval.isNegative() || interval.isZero()) {
        throw new IllegalArgumentException("a band needs at least one permit in a positive interval");
      }
    }

    /** Milliseconds between two permits at the band's rate. */
    double emissionMs() {
      return (double) interval.toMillis() / permits;
    }

    /** The start of a band's keys: the rate is in the key, so a changed setting starts afresh. */
    String keyPrefix(String name) {
      return "parley:" + name + ":" + permits + "per" + interval.toMillis() + "ms:";
    }
  }

  /** {@code retryAfterMs}: when the next attempt can succeed (0 when allowed). */
  public record Decision(boolean allowed, long retryAfterMs) {
    public static final Decision ALLOWED = new Decision(true, 0);
  }

  private final CachedScript script;
  private final KeyedHash hash;
  private final String purpose;
  private final List<String> prefixes = new ArrayList<>();
  private final Object[] arguments;
  private final AtomicLong failedOpen = new AtomicLong();
  private final ThrottledWarning warning;

  /** A limit of one band. */
  public RedisRateLimit(RedissonClient redis, KeyedHash hash, String name, String purpose, long permits,
                        Duration interval, Duration timeout, Clock clock) {
    this(redis, hash, name, purpose, List.of(new Band(permits, interval)), timeout, clock);
  }

  /**
   * @param name    the key's name part, e.g. {@code claims}: keys are {@code parley:<name>:<rate>:{<hash>}}
   * @param purpose the hash label, so that two limits never share a hash of the same subject
   */
  public RedisRateLimit(RedissonClient redis, KeyedHash hash, String name, String purpose, List<Band> bands,
                        Duration timeout, Clock clock) {
    this.script = new CachedScript(redis, SCRIPT, RScript.ReturnType.LONG, timeout);
    this.hash = hash;
    this.purpose = purpose;
    this.warning = new ThrottledWarning(clock, WARN_EVERY);
    this.arguments = new Object[bands.size() * 2];
    for (int i = 0; i < bands.size(); i++) {
      Band band = bands.get(i);
      prefixes.add(band.keyPrefix(name) + "{");
      arguments[2 * i] = Double.toString(band.emissionMs());
      arguments[2 * i + 1] = Long.toString(band.interval().toMillis());
    }
  }

  public CompletionStage<Decision> tryAcquire(String subject) {
    String subjectHash = hash.of(purpose, subject);
    List<Object> keys = new ArrayList<>(prefixes.size());
    for (String prefix : prefixes) {
      keys.add(prefix + subjectHash + "}");
    }
    return script.<Long>evaluate(keys, arguments)
        .thenApply(wait -> wait == 0 ? Decision.ALLOWED : new Decision(false, wait))
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
}
