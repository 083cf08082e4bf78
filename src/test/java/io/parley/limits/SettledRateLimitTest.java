package io.parley.limits;

import static org.assertj.core.api.Assertions.assertThat;

import io.parley.config.ParleySettings.RedisSettings;
import io.parley.limits.RedisRateLimit.Band;
import io.parley.limits.RedisRateLimit.Decision;
import io.parley.redis.KeyedHash;
import io.parley.redis.RedisConnection;
import io.parley.redis.RedisExtension;
import io.parley.testing.MutableClock;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.redisson.api.RedissonClient;
import org.redisson.client.codec.StringCodec;

/** The node-local limiter that settles with a real Redis; two limiters on one Redis stand for two nodes. */
class SettledRateLimitTest {
  @RegisterExtension
  static final RedisExtension redis = new RedisExtension();

  private static final KeyedHash HASH = new KeyedHash("a pepper of at least thirty-two characters".getBytes(
      StandardCharsets.UTF_8));
  /** A permit comes back every 3 s: no test here runs long enough to see one. */
  private static final List<Band> TWENTY_A_MINUTE = List.of(new Band(20, Duration.ofMinutes(1)));

  private static SettledRateLimit node(RedissonClient client, List<Band> bands, Clock clock) {
    return new SettledRateLimit(client, HASH, "test", "test-limit", bands, Duration.ofSeconds(5), clock);
  }

  private static SettledRateLimit node(List<Band> bands) {
    return node(redis.connection().client(), bands, Clock.systemUTC());
  }

  private static Decision acquire(SettledRateLimit limit, String subject) {
    return limit.tryAcquire(subject).toCompletableFuture().join();
  }

  private static List<Decision> acquire(SettledRateLimit limit, String subject, int times) {
    List<Decision> decisions = new ArrayList<>();
    for (int i = 0; i < times; i++) {
      decisions.add(acquire(limit, subject));
    }
    return decisions;
  }

  private static void settle(SettledRateLimit... nodes) {
    for (SettledRateLimit node : nodes) {
      node.settle().toCompletableFuture().join();
    }
  }

  @Test
  void aKnownSubjectIsDecidedOnTheNodeAndRefusedWithWhenToRetry() {
    SettledRateLimit limit = node(TWENTY_A_MINUTE);
    acquire(limit, "u_alice");
    List<Decision> decisions = acquire(limit, "u_alice", 20);

    assertThat(limit.tryAcquire("u_alice").toCompletableFuture()).as("decided without waiting for Redis")
        .isCompletedWithValueMatching(decision -> !decision.allowed());
    assertThat(decisions.subList(0, 19)).allMatch(Decision::allowed);
    Decision refused = decisions.get(19);
    assertThat(refused.allowed()).isFalse();
    assertThat(refused.retryAfterMs()).isBetween(1L, 3_000L);
    assertThat(acquire(limit, "u_bob").allowed()).as("every subject has its own budget").isTrue();
  }

  @Test
  void anotherNodeReadsWhatTheFirstSpentSoReconnectingElsewhereDoesNotRefillTheBucket() {
    RedissonClient client = redis.connection().client();
    SettledRateLimit first = node(TWENTY_A_MINUTE);
    assertThat(acquire(first, "u_carol", 20)).allMatch(Decision::allowed);
    settle(first);

    SettledRateLimit second = node(client, TWENTY_A_MINUTE, Clock.systemUTC());
    Decision elsewhere = acquire(second, "u_carol");
    assertThat(elsewhere.allowed()).isFalse();
    assertThat(elsewhere.retryAfterMs()).isBetween(1L, 3_000L);
  }

  @Test
  void twoNodesSpendingAtOnceAreHeldToTheClusterBudgetAndAnOvershootIsDebt() {
    SettledRateLimit first = node(TWENTY_A_MINUTE);
    SettledRateLimit second = node(TWENTY_A_MINUTE);
    assertThat(acquire(first, "u_dave", 12)).allMatch(Decision::allowed);
    assertThat(acquire(second, "u_dave", 6)).allMatch(Decision::allowed);
    settle(first, second);

    // 18 of 20 spent over the cluster; the first node knows of its own 12, the second of all 18
    assertThat(acquire(first, "u_dave", 2)).allMatch(Decision::allowed);
    settle(first);
    assertThat(acquire(second, "u_dave").allowed())
        .as("a node decides on what it knew at its last settle: one over the cluster's budget").isTrue();
    settle(second);

    Decision refused = acquire(first, "u_dave");
    assertThat(refused.allowed()).isFalse();
    settle(first);
    Decision afterSettle = acquire(first, "u_dave");
    assertThat(afterSettle.allowed()).isFalse();
    assertThat(afterSettle.retryAfterMs()).as("the overshoot pushes the next permit one emission further")
        .isGreaterThan(refused.retryAfterMs() + 2_000).isLessThanOrEqualTo(6_000L);
    assertThat(acquire(second, "u_dave").allowed()).isFalse();
  }

  @Test
  void whenRedisIsGoneTheNodeStillHoldsItsOwnCountAndTheFailuresAreCounted() {
    RedisConnection lost = RedisConnection.start(new RedisSettings("", 0));
    SettledRateLimit limit = node(lost.client(), List.of(new Band(3, Duration.ofMinutes(1))), Clock.systemUTC());
    lost.close();

    assertThat(acquire(limit, "u_erin", 4)).extracting(Decision::allowed).containsExactly(true, true, true, false);
    settle(limit);
    assertThat(limit.failedOpen()).isGreaterThanOrEqualTo(2);
    assertThat(acquire(limit, "u_erin").allowed()).as("the unsettled requests still count here").isFalse();
  }

  @Test
  void redisHoldsTheSubjectOnlyAsAKeyedHashUnderItsShardsTagAndForAsLongAsTheBandIsNotFull() {
    SettledRateLimit limit = node(TWENTY_A_MINUTE);
    acquire(limit, "u_frank_the_subject", 2);
    settle(limit);

    RedissonClient client = redis.connection().client();
    List<String> keys = new ArrayList<>();
    client.getKeys().getKeysByPattern("parley:test:*").forEach(keys::add);
    assertThat(keys).singleElement().satisfies(key -> {
      assertThat(key).matches("parley:test:20per60000ms:\\{test-\\d{1,2}\\}:[A-Za-z0-9_-]{43}")
          .doesNotContain("frank");
      assertThat(client.getBucket(key, StringCodec.INSTANCE).remainTimeToLive())
          .as("two permits' worth: 6 s").isBetween(1L, 6_000L);
    });
  }

  @Test
  void aSubjectQuietForTheLongestBandIsForgottenAndReadAgainFromRedis() {
    MutableClock clock = new MutableClock(Instant.parse("2026-12-04T10:00:00Z"));
    SettledRateLimit limit = node(redis.connection().client(), List.of(new Band(2, Duration.ofSeconds(10))), clock);
    assertThat(acquire(limit, "u_grace", 3)).extracting(Decision::allowed).containsExactly(true, true, false);
    settle(limit);
    assertThat(limit.subjectsKept()).isEqualTo(1);

    clock.advance(Duration.ofSeconds(11));
    settle(limit);
    assertThat(limit.subjectsKept()).isZero();
    // Redis's own clock has not moved: it still holds the two permits spent, so the subject is refused again
    assertThat(acquire(limit, "u_grace").allowed()).isFalse();
    assertThat(limit.subjectsKept()).isEqualTo(1);
  }
}
