package io.parley.limits;

import static org.assertj.core.api.Assertions.assertThat;

import io.parley.limits.RedisRateLimit.Band;
import io.parley.limits.RedisRateLimit.Decision;
import io.parley.redis.KeyedHash;
import io.parley.redis.RedisExtension;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.redisson.api.RedissonClient;

/** The one-script limiter against a real Redis. */
class RedisRateLimitTest {
  @RegisterExtension
  static final RedisExtension redis = new RedisExtension();

  private static final KeyedHash HASH = new KeyedHash("a pepper of at least thirty-two characters".getBytes(
      StandardCharsets.UTF_8));

  private RedisRateLimit limit(List<Band> bands) {
    return new RedisRateLimit(redis.connection().client(), HASH, "test", "test-limit", bands, Duration.ofSeconds(2),
        Clock.systemUTC());
  }

  private static Decision acquire(RedisRateLimit limit, String subject) {
    return limit.tryAcquire(subject).toCompletableFuture().join();
  }

  @Test
  void aBurstIsAllowedAtOnceAndTheNextIsRefusedWithWhenToRetry() {
    // a permit comes back every 3 s: the 21 attempts are over long before that
    RedisRateLimit limit = limit(List.of(new Band(20, Duration.ofMinutes(1))));
    List<Decision> decisions = new ArrayList<>();
    for (int i = 0; i < 21; i++) {
      decisions.add(acquire(limit, "u_alice"));
    }

    assertThat(decisions.subList(0, 20)).allMatch(Decision::allowed);
    Decision refused = decisions.get(20);
    assertThat(refused.allowed()).isFalse();
    assertThat(refused.retryAfterMs()).isBetween(1L, 3_000L);
    assertThat(acquire(limit, "u_bob").allowed()).as("every subject has its own budget").isTrue();
  }

  @Test
  void aRefusalByOneBandTakesNoPermitOfTheOther() {
    RedisRateLimit limit = limit(List.of(new Band(2, Duration.ofSeconds(10)), new Band(3, Duration.ofMinutes(10))));
    assertThat(acquire(limit, "u_carol").allowed()).isTrue();
    assertThat(acquire(limit, "u_carol").allowed()).isTrue();
    for (int i = 0; i < 5; i++) {
      Decision refused = acquire(limit, "u_carol");
      assertThat(refused.allowed()).isFalse();
      assertThat(refused.retryAfterMs()).as("the first band frees a permit within 5 s").isBetween(1L, 5_000L);
    }

    // the short band has a permit again after 5 s; the long band still has its third, untouched by the refusals
    RedisRateLimit shortBandDone = limit(List.of(new Band(1_000, Duration.ofMillis(10)),
        new Band(3, Duration.ofMinutes(10))));
    assertThat(acquire(shortBandDone, "u_carol").allowed())
        .as("only the two allowed requests took permits of the long band").isTrue();
  }

  @Test
  void theLongerBandDecidesWhenItIsTheOneThatIsFull() {
    RedisRateLimit limit = limit(List.of(new Band(20, Duration.ofSeconds(1)), new Band(3, Duration.ofMinutes(1))));
    for (int i = 0; i < 3; i++) {
      assertThat(acquire(limit, "u_dave").allowed()).isTrue();
    }
    Decision refused = acquire(limit, "u_dave");

    assertThat(refused.allowed()).isFalse();
    // the sustained band frees one permit every 20 s
    assertThat(refused.retryAfterMs()).isBetween(19_000L, 20_000L);
  }

  @Test
  void keysNameTheSubjectOnlyByItsKeyedHashAndExpire() {
    RedisRateLimit limit = limit(List.of(new Band(5, Duration.ofSeconds(30))));
    acquire(limit, "u_erin-secret");
    RedissonClient client = redis.connection().client();

    List<String> keys = new ArrayList<>();
    client.getKeys().getKeys().forEach(keys::add);
    assertThat(keys).singleElement().satisfies(key -> {
      assertThat(key).startsWith("parley:test:5per30000ms:{").doesNotContain("u_erin");
      assertThat(client.getBucket(key).remainTimeToLive()).isBetween(1L, 30_000L);
    });
  }

  @Test
  void aRedisThatLostTheScriptGetsItAgain() {
    RedisRateLimit limit = limit(List.of(new Band(5, Duration.ofSeconds(30))));
    assertThat(acquire(limit, "u_frank").allowed()).isTrue();

    redis.connection().client().getScript().scriptFlush(); // as after a restart of Redis

    assertThat(acquire(limit, "u_frank").allowed()).isTrue();
    assertThat(limit.failedOpen()).as("answered by Redis, not let through").isZero();
  }
}
