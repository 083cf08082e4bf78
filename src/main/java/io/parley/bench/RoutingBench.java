package io.parley.bench;

import io.parley.agent.AgentSettings.ClassifierSettings;
import io.parley.agent.RegistrySnapshot;
import io.parley.agent.routing.CachedIntentClassifier;
import io.parley.agent.routing.FallbackPolicy;
import io.parley.agent.routing.IntentDecision;
import io.parley.agent.routing.LuceneIntentClassifier;
import io.parley.agent.routing.Utterance;
import io.parley.redis.KeyedHash;
import java.io.PrintStream;
import java.security.SecureRandom;
import java.time.Clock;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.HdrHistogram.Histogram;
import org.redisson.api.RedissonClient;

/**
 * Measures intent routing (docs/adr/0017): accuracy of the local classifier on the labelled set, the latency
 * of classifying without the cache, then a replay of texts drawn from a Zipf distribution over a pool of
 * distinct utterances through the Redis cache: hit rate and latency of hits, misses and all decisions.
 */
public final class RoutingBench {

  /** What to replay: {@code replays} draws (after {@code warmup} draws on other keys) over {@code distinct} texts. */
  public record Plan(int replays, int warmup, int distinct, double zipfExponent, long seed) {
    public Plan {
      if (replays < 1 || warmup < 0 || distinct < 1 || !(zipfExponent > 0)) {
        throw new IllegalArgumentException("replays and distinct must be positive, warmup not negative, the exponent > 0");
      }
    }
  }

  /** What the replay measured; latencies in microseconds. */
  public record Replay(long hits, long misses, long failures, Histogram hit, Histogram miss, Histogram all) {
    public double hitRate() {
      return (double) hits / (hits + misses);
    }
  }

  private static final String[] OPENINGS = {"", "hi, ", "hey ", "hello, ", "please, ", "quick question: ",
      "excuse me, ", "sorry to bother you, ", "ok so ", "um, "};
  private static final String[] ENDINGS = {"", " please", ", thanks", " asap", " thank you", " today",
      " right now", " again", ", any idea", " for me"};

  private final IntentFixture fixture;
  private final ClassifierSettings settings;
  private final PrintStream out;

  public RoutingBench(IntentFixture fixture, ClassifierSettings settings, PrintStream out) {
    this.fixture = fixture;
    this.settings = settings;
    this.out = out;
  }

  public RoutingAccuracy accuracy() {
    LuceneIntentClassifier local = localClassifier();
    return RoutingAccuracy.measure(fixture, fixture.snapshot(1), local::classifyNow);
  }

  /** Classifies the labelled set {@code passes} times in the calling thread, without the cache. */
  public Histogram uncachedLatency(int passes) {
    LuceneIntentClassifier local = localClassifier();
    RegistrySnapshot snapshot = fixture.snapshot(1);
    Histogram latency = new Histogram(TimeUnit.SECONDS.toMicros(10), 3);
    for (int pass = 0; pass < passes; pass++) {
      for (IntentFixture.Labelled l : fixture.labelled()) {
        long start = System.nanoTime();
        local.classifyNow(l.text(), snapshot);
        latency.recordValue(Math.max(1, (System.nanoTime() - start) / 1_000));
      }
    }
    return latency;
  }

  public Replay replay(Plan plan, RedissonClient redis) {
    List<String> pool = pool(plan.distinct(), plan.seed());
    double[] cdf = zipfCdf(pool.size(), plan.zipfExponent());
    SplittableRandom random = new SplittableRandom(plan.seed());
    byte[] pepper = new byte[32];
    new SecureRandom().nextBytes(pepper);
    LuceneIntentClassifier local = localClassifier();
    CachedIntentClassifier cached = new CachedIntentClassifier(local, redis, new KeyedHash(pepper),
        settings.cacheTtl(), settings.cacheTimeout(), Clock.systemUTC());

    // JIT warm-up on registry version 1; the measured replay uses version 2, whose keys start empty
    RegistrySnapshot warm = fixture.snapshot(1);
    for (int i = 0; i < plan.warmup(); i++) {
      cached.classify(pool.get(draw(cdf, random)), warm).toCompletableFuture().join();
    }
    RegistrySnapshot measured = fixture.snapshot(2);
    local.classifyNow("build the index of version 2", measured);
    long hitsBefore = cached.hits();
    long missesBefore = cached.misses();
    long failuresBefore = cached.failures();
    Histogram hit = new Histogram(TimeUnit.SECONDS.toMicros(10), 3);
    Histogram miss = new Histogram(TimeUnit.SECONDS.toMicros(10), 3);
    Histogram all = new Histogram(TimeUnit.SECONDS.toMicros(10), 3);
    for (int i = 0; i < plan.replays(); i++) {
      String text = pool.get(draw(cdf, random));
      long start = System.nanoTime();
      IntentDecision decision = cached.classify(text, measured).toCompletableFuture().join();
      long micros = Math.max(1, (System.nanoTime() - start) / 1_000);
      (decision.cached() ? hit : miss).recordValue(micros);
      all.recordValue(micros);
    }
    return new Replay(cached.hits() - hitsBefore, cached.misses() - missesBefore,
        cached.failures() - failuresBefore, hit, miss, all);
  }

  public void print(RoutingAccuracy accuracy, Histogram uncached, Plan plan, Replay replay) {
    out.printf("intent routing: %d agents, threshold %.2f, fallback agent %s%n", fixture.agents().size(),
        settings.threshold(), fixture.fallbackAgent());
    accuracy.print(out);
    out.println();
    out.printf("classification without the cache (labelled set, %d decisions)%n", uncached.getTotalCount());
    line("  local BM25", uncached);
    out.println();
    out.printf("replay: %,d decisions (after %,d warm-up) drawn from Zipf(s=%.2f) over %,d distinct utterances%n",
        plan.replays(), plan.warmup(), plan.zipfExponent(), plan.distinct());
    out.printf("hit rate        %.3f (%,d hits, %,d misses, %,d cache failures)%n", replay.hitRate(), replay.hits(),
        replay.misses(), replay.failures());
    line("  cached hits", replay.hit());
    line("  misses", replay.miss());
    line("  all", replay.all());
  }

  private void line(String label, Histogram h) {
    if (h.getTotalCount() == 0) {
      out.printf("%-15s none%n", label);
      return;
    }
    out.printf("%-15s p50 %.3f ms  p95 %.3f ms  p99 %.3f ms  max %.3f ms  (n=%,d)%n", label,
        h.getValueAtPercentile(50) / 1000.0, h.getValueAtPercentile(95) / 1000.0,
        h.getValueAtPercentile(99) / 1000.0, h.getMaxValue() / 1000.0, h.getTotalCount());
  }

  private LuceneIntentClassifier localClassifier() {
    return new LuceneIntentClassifier(new FallbackPolicy(settings.threshold(), fixture.fallbackAgent()));
  }

  /**
   * {@code size} distinct utterances (distinct after normalisation): the labelled set, each with openings and
   * endings people add, in a random order so that the most frequent ones are spread over the agents.
   */
  List<String> pool(int size, long seed) {
    Map<String, String> byNormalForm = new LinkedHashMap<>();
    for (String opening : OPENINGS) {
      for (String ending : ENDINGS) {
        for (IntentFixture.Labelled l : fixture.labelled()) {
          String text = opening + l.text() + ending;
          byNormalForm.putIfAbsent(Utterance.normalise(text), text);
        }
      }
    }
    List<String> all = new ArrayList<>(byNormalForm.values());
    if (size > all.size()) {
      throw new IllegalArgumentException("at most " + all.size() + " distinct utterances");
    }
    Collections.shuffle(all, new Random(seed));
    return List.copyOf(all.subList(0, size));
  }

  static double[] zipfCdf(int n, double s) {
    double[] cdf = new double[n];
    double sum = 0;
    for (int k = 1; k <= n; k++) {
      sum += 1 / Math.pow(k, s);
      cdf[k - 1] = sum;
    }
    for (int k = 0; k < n; k++) {
      cdf[k] /= sum;
    }
    return cdf;
  }

  private static int draw(double[] cdf, SplittableRandom random) {
    int i = Arrays.binarySearch(cdf, random.nextDouble());
    return Math.min(cdf.length - 1, i >= 0 ? i : -i - 1);
  }
}
