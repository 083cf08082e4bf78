package io.parley.bench;

import static org.assertj.core.api.Assertions.assertThat;

import io.parley.agent.AgentSettings.ClassifierSettings;
import io.parley.agent.routing.Utterance;
import io.parley.redis.RedisExtension;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

class RoutingBenchTest {
  @RegisterExtension
  static final RedisExtension redis = new RedisExtension();

  private static final ClassifierSettings SETTINGS = new ClassifierSettings(0.25, "helpdesk", Duration.ofHours(1),
      Duration.ofSeconds(5), ClassifierSettings.Mode.LOCAL, Optional.empty(), Duration.ofMillis(300));

  @Test
  void theZipfDistributionFavoursTheFirstRanks() {
    double[] cdf = RoutingBench.zipfCdf(1000, 1.1);
    assertThat(cdf[cdf.length - 1]).isEqualTo(1.0, org.assertj.core.data.Offset.offset(1e-12));
    // rank 1 alone takes about an eighth of the draws over 1000 ranks at s = 1.1
    assertThat(cdf[0]).isBetween(0.1, 0.2);
    assertThat(cdf[9]).isGreaterThan(0.35);
  }

  @Test
  void thePoolHoldsDistinctUtterancesAfterNormalisation() {
    RoutingBench bench = new RoutingBench(IntentFixture.load(), SETTINGS, new PrintStream(new ByteArrayOutputStream()));
    List<String> pool = bench.pool(4000, 42);
    assertThat(pool).hasSize(4000);
    assertThat(pool.stream().map(Utterance::normalise).distinct()).hasSize(4000);
  }

  @Test
  void aShortReplayCountsEveryDecisionAsAHitOrAMissAndPrintsTheReport() {
    ByteArrayOutputStream printed = new ByteArrayOutputStream();
    RoutingBench bench = new RoutingBench(IntentFixture.load(), SETTINGS, new PrintStream(printed, true,
        StandardCharsets.UTF_8));
    RoutingBench.Plan plan = new RoutingBench.Plan(2000, 100, 200, 1.1, 7);
    RoutingBench.Replay replay = bench.replay(plan, redis.connection().client());
    assertThat(replay.hits() + replay.misses()).isEqualTo(2000);
    assertThat(replay.all().getTotalCount()).isEqualTo(2000);
    assertThat(replay.misses()).isGreaterThanOrEqualTo(1).isLessThanOrEqualTo(200 + replay.failures() + 50);
    assertThat(replay.hitRate()).isGreaterThan(0.8);
    bench.print(bench.accuracy(), bench.uncachedLatency(1), plan, replay);
    assertThat(printed.toString(StandardCharsets.UTF_8)).contains("accuracy", "hit rate", "cached hits", "p95");
  }
}
