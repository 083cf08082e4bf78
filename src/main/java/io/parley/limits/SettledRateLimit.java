package io.parley.limits;

import io.parley.limits.RedisRateLimit.Band;
import io.parley.limits.RedisRateLimit.Decision;
import io.parley.observability.ThrottledWarning;
import io.parley.redis.KeyedHash;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicLong;
import org.redisson.api.RScript;
import org.redisson.api.RedissonClient;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A cluster-wide limit per subject decided on the node, without a Redis round trip per request (ADR 0024).
 * Each subject has the same GCRA bands as {@link RedisRateLimit}, kept here: a request is allowed or refused
 * at once against them. Every {@link #settle() settle} (a tick of {@code settle-interval}) tells Redis, in one
 * script call per key shard, how many requests each subject was allowed since the last, and takes back every
 * band's cluster-wide theoretical arrival time, which the node adopts when it is later than its own: a subject
 * that is also spending on other nodes is held to the cluster's budget within one tick. A subject the node
 * has not seen (or forgot after a quiet {@code forgetAfter}) is first read from Redis, so reconnecting to
 * another node does not refill its bucket.
 *
 * <p>Keys are {@code parley:<name>:<rate>:{<name>-<shard>}:<keyed hash>}: the subject by a {@link KeyedHash}
 * only, the rate in the key (a changed setting starts afresh), one hash tag per shard so a Redis cluster can
 * serve a shard's batch from one slot. When Redis fails or is late the node's own bands still hold; a failed
 * settle is not repeated (Redis may have applied it), and the failures are counted in {@link #failedOpen()}
 * and logged at most once a minute. Thread-safe.
 */
public final class SettledRateLimit {
  static final int SHARDS = 16;
  private static final int MAX_SUBJECTS_PER_CALL = 256;
  private static final Logger log = LoggerFactory.getLogger(SettledRateLimit.class);
  private static final Duration WARN_EVERY = Duration.ofMinutes(1);

  /**
   * KEYS: the bands' keys of each subject, subject after subject. ARGV[1]: bands per subject; ARGV[1 + i]: band
   * i's emission interval in ms; ARGV[1 + bands + s]: requests subject s was allowed since the last settle.
   * Advances each band by those requests and answers, band after band, how many ms its theoretical arrival
   * time is ahead of now (0 when the band is full).
   */
  static final String SETTLE_SCRIPT = """
      local time = redis.call('TIME')
      local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
      local bands = tonumber(ARGV[1])
      local ahead = {}
      for s = 1, #KEYS / bands do
        local spent = tonumber(ARGV[1 + bands + s])
        for i = 1, bands do
          local key = KEYS[(s - 1) * bands + i]
          local tat = tonumber(redis.call('GET', key) or '0')
          if tat < now then tat = now end
          if spent > 0 then
            tat = tat + spent * tonumber(ARGV[1 + i])
            redis.call('SET', key, tostring(tat), 'PX', math.max(1, math.ceil(tat - now)))
          end
          ahead[#ahead + 1] = math.floor(tat - now)
        end
      end
      return ahead
      """;

  private final CachedScript script;
  private final KeyedHash hash;
  private final String name;
  private final String purpose;
  private final List<String> prefixes = new ArrayList<>();
  private final double[] emission;
  private final long[] interval;
  /** ARGV[1] and the bands' emission intervals: the same in every call. */
  private final Object[] bandArguments;
  private final Duration forgetAfter;
  private final Clock clock;
  private final ThrottledWarning warning;
  private final AtomicLong failedOpen = new AtomicLong();
  private final Map<String, Subject> subjects = new ConcurrentHashMap<>();
  /** Subjects asked since their last settle, each once: their allowed requests go to Redis, its bands come back. */
  private final ConcurrentLinkedQueue<Subject> unsettled = new ConcurrentLinkedQueue<>();
  private volatile long lastForgetting;

  /**
   * @param name    the key's name part, e.g. {@code sends}
   * @param purpose the hash label, so that two limits never share a hash of the same subject
   * @param timeout how long Redis may take to answer a read or a settle
   */
  public SettledRateLimit(RedissonClient redis, KeyedHash hash, String name, String purpose, List<Band> bands,
                          Duration timeout, Clock clock) {
    this.script = new CachedScript(redis, SETTLE_SCRIPT, RScript.ReturnType.LIST, timeout);
    this.hash = hash;
    this.name = name;
    this.purpose = purpose;
    this.clock = clock;
    this.warning = new ThrottledWarning(clock, WARN_EVERY);
    this.emission = new double[bands.size()];
    this.interval = new long[bands.size()];
    this.bandArguments = new Object[1 + bands.size()];
    bandArguments[0] = Integer.toString(bands.size());
    long longest = 0;
    for (int i = 0; i < bands.size(); i++) {
      Band band = bands.get(i);
      interval[i] = band.interval().toMillis();
      emission[i] = band.emissionMs();
      bandArguments[1 + i] = Double.toString(emission[i]);
      longest = Math.max(longest, interval[i]);
      prefixes.add(band.keyPrefix(name));
    }
    // a subject quiet for the longest band's interval has full buckets here; Redis has the rest
    this.forgetAfter = Duration.ofMillis(longest);
  }

  /** One request of {@code subject}: decided here, at once for a subject the node knows. */
  public CompletionStage<Decision> tryAcquire(String subject) {
    Subject known = subjects.get(subject);
    if (known == null) {
      Subject created = new Subject(hash.of(purpose, subject));
      known = subjects.putIfAbsent(subject, created);
      if (known == null) {
        known = created;
        read(created);
      }
    }
    if (known.ready.isDone()) {
      return CompletableFuture.completedFuture(known.acquire(clock.millis()));
    }
    return known.ready.thenApply(ready -> ready.acquire(clock.millis()));
  }

  /**
   * Tells Redis what was allowed since the last settle and adopts the cluster's bands; forgets subjects quiet
   * for the longest band's interval. Completes when Redis has answered (or failed) for every shard.
   */
  public CompletionStage<Void> settle() {
    forgetQuietSubjects();
    Map<Integer, List<Subject>> byShard = new HashMap<>();
    for (Subject subject = unsettled.poll(); subject != null; subject = unsettled.poll()) {
      byShard.computeIfAbsent(subject.shard, shard -> new ArrayList<>()).add(subject);
    }
    List<CompletableFuture<Void>> calls = new ArrayList<>();
    for (List<Subject> shard : byShard.values()) {
      for (int from = 0; from < shard.size(); from += MAX_SUBJECTS_PER_CALL) {
        calls.add(settle(shard.subList(from, Math.min(shard.size(), from + MAX_SUBJECTS_PER_CALL))));
      }
    }
    return CompletableFuture.allOf(calls.toArray(CompletableFuture[]::new));
  }

  /** Reads and settles Redis did not answer in time or failed; the node decided on its own bands meanwhile. */
  public long failedOpen() {
    return failedOpen.get();
  }

  /** Subjects the node keeps bands for. */
  int subjectsKept() {
    return subjects.size();
  }

  /**
   * A failed settle is not repeated: Redis may have applied it and only the answer been lost, and counting its
   * requests twice would refuse the subjects for what they did not send. The node's own bands still hold them.
   */
  private CompletableFuture<Void> settle(List<Subject> batch) {
    long[] spent = new long[batch.size()];
    for (int s = 0; s < batch.size(); s++) {
      spent[s] = batch.get(s).takeUnsettled();
    }
    return call(batch, spent).handle((ahead, failure) -> {
      if (failure != null) {
        failed("settle", failure);
        return null;
      }
      long now = clock.millis();
      for (int s = 0; s < batch.size(); s++) {
        batch.get(s).adopt(ahead, s * emission.length, now);
      }
      return null;
    });
  }

  /** The subject's bands as Redis has them; on failure the node starts from full buckets. */
  private void read(Subject subject) {
    call(List.of(subject), new long[] {0}).whenComplete((ahead, failure) -> {
      try {
        if (failure != null) {
          failed("read", failure);
        } else {
          subject.adopt(ahead, 0, clock.millis());
        }
      } finally {
        subject.ready.complete(subject);
      }
    });
  }

  private CompletableFuture<List<Object>> call(List<Subject> batch, long[] spent) {
    List<Object> keys = new ArrayList<>(batch.size() * prefixes.size());
    for (Subject subject : batch) {
      keys.addAll(subject.keys);
    }
    Object[] arguments = Arrays.copyOf(bandArguments, bandArguments.length + batch.size());
    for (int s = 0; s < batch.size(); s++) {
      arguments[bandArguments.length + s] = Long.toString(spent[s]);
    }
    return script.evaluate(keys, arguments);
  }

  /** At most once per {@code forgetAfter}: a full sweep, not a cost per request. */
  private void forgetQuietSubjects() {
    long now = clock.millis();
    if (now - lastForgetting < forgetAfter.toMillis()) {
      return;
    }
    lastForgetting = now;
    long quietSince = now - forgetAfter.toMillis();
    subjects.values().removeIf(subject -> subject.quietSince(quietSince));
  }

  private void failed(String what, Throwable failure) {
    long count = failedOpen.incrementAndGet();
    if (warning.due()) {
      log.warn("{} rate limit: Redis {} failed, limiting on this node alone ({} so far): {}", purpose, what, count,
          failure.toString());
    }
  }

  /** One subject's bands on this node. */
  private final class Subject {
    final List<String> keys;
    final int shard;
    final CompletableFuture<Subject> ready = new CompletableFuture<>();
    /** Theoretical arrival time of each band, in the clock's milliseconds (guarded by this). */
    private final double[] arrival = new double[emission.length];
    private long allowedSinceSettle;
    /** Whether the subject waits in {@code unsettled} for the next settle. */
    private boolean queued;
    private long lastUsed;

    Subject(String subjectHash) {
      this.shard = Math.floorMod(subjectHash.hashCode(), SHARDS);
      String tag = "{" + name + "-" + shard + "}:";
      List<String> bandKeys = new ArrayList<>(prefixes.size());
      for (String prefix : prefixes) {
        bandKeys.add(prefix + tag + subjectHash);
      }
      this.keys = List.copyOf(bandKeys);
    }

    synchronized Decision acquire(long now) {
      lastUsed = now;
      double wait = 0;
      for (int i = 0; i < arrival.length; i++) {
        double over = Math.max(arrival[i], now) + emission[i] - interval[i] - now;
        wait = Math.max(wait, over);
      }
      // a refusal also asks the next settle for the cluster's bands: they may have moved on other nodes
      queue();
      if (wait > 0) {
        return new Decision(false, Math.max(1, (long) Math.ceil(wait)));
      }
      for (int i = 0; i < arrival.length; i++) {
        arrival[i] = Math.max(arrival[i], now) + emission[i];
      }
      allowedSinceSettle++;
      return Decision.ALLOWED;
    }

    synchronized long takeUnsettled() {
      queued = false;
      long taken = allowedSinceSettle;
      allowedSinceSettle = 0;
      return taken;
    }

    private void queue() {
      if (!queued) {
        queued = true;
        unsettled.add(this);
      }
    }

    /** Takes each band's cluster-wide arrival time when it is later than the node's. */
    synchronized void adopt(List<Object> ahead, int offset, long now) {
      for (int i = 0; i < arrival.length; i++) {
        // Redis answers a Lua number as an integer
        long ms = ((Number) ahead.get(offset + i)).longValue();
        arrival[i] = Math.max(arrival[i], now + ms);
      }
    }

    synchronized boolean quietSince(long since) {
      return ready.isDone() && !queued && lastUsed < since;
    }
  }
}
