package io.parley.bench;

import com.typesafe.config.ConfigFactory;
import io.parley.agent.AgentSettings;
import io.parley.agent.AgentSettings.ClassifierSettings;
import io.parley.config.ParleySettings.RedisSettings;
import io.parley.redis.RedisConnection;
import java.util.concurrent.Callable;
import org.HdrHistogram.Histogram;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code parley bench-routing}: intent routing's accuracy, cache hit rate and latency (docs/adr/0017). */
@Command(name = "bench-routing", mixinStandardHelpOptions = true, sortOptions = false,
    description = {
      "Measure intent routing: accuracy of the local classifier on the labelled set of",
      "utterances, its latency without the cache, then a replay of utterances drawn from a",
      "Zipf distribution through the Redis intent cache: hit rate and latency p50/p95/p99",
      "of cached hits, misses and all decisions. Threshold and cache settings come from",
      "parley.agents.classifier."},
    footer = {"", "Exit status: 0 when the replay ran, 2 on a setup failure."})
public final class RoutingBenchCommand implements Callable<Integer> {

  @Option(names = "--replays", defaultValue = "50000", description = "measured decisions (default: ${DEFAULT-VALUE})")
  int replays;

  @Option(names = "--warmup", defaultValue = "10000", description = "decisions before measuring, on other cache keys (default: ${DEFAULT-VALUE})")
  int warmup;

  @Option(names = "--distinct", defaultValue = "4000", description = "distinct utterances in the replayed pool (default: ${DEFAULT-VALUE})")
  int distinct;

  @Option(names = "--zipf", defaultValue = "1.1", description = "exponent s of the Zipf distribution (default: ${DEFAULT-VALUE})")
  double zipf;

  @Option(names = "--seed", defaultValue = "42", description = "seed of the pool's order and the draws (default: ${DEFAULT-VALUE})")
  long seed;

  @Option(names = "--redis-url", defaultValue = "", description = "redis:// URL of the Redis to use; empty starts the bundled server")
  String redisUrl;

  @Override
  public Integer call() {
    ClassifierSettings settings;
    RoutingBench.Plan plan;
    try {
      settings = AgentSettings.from(ConfigFactory.load()).classifier();
      plan = new RoutingBench.Plan(replays, warmup, distinct, zipf, seed);
    } catch (IllegalArgumentException e) {
      System.err.println(e.getMessage());
      return 2;
    }
    RoutingBench bench = new RoutingBench(IntentFixture.load(), settings, System.out);
    RoutingAccuracy accuracy = bench.accuracy();
    Histogram uncached = bench.uncachedLatency(20);
    try (RedisConnection redis = RedisConnection.start(new RedisSettings(redisUrl, 0))) {
      RoutingBench.Replay replay = bench.replay(plan, redis.client());
      bench.print(accuracy, uncached, plan, replay);
    } catch (RuntimeException e) {
      System.err.println("bench-routing failed: " + e);
      return 2;
    }
    return 0;
  }
}
