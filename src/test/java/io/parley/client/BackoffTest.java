package io.parley.client;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.SplittableRandom;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

class BackoffTest {
  @Test
  void ceilingDoublesUpToTheCap() {
    Backoff backoff = new Backoff(Duration.ofMillis(250), Duration.ofSeconds(30), new SplittableRandom(1));
    assertThat(IntStream.range(0, 10).mapToLong(backoff::ceiling).boxed().toList())
        .containsExactly(250L, 500L, 1000L, 2000L, 4000L, 8000L, 16000L, 30000L, 30000L, 30000L);
    assertThat(backoff.ceiling(200)).isEqualTo(30000L);
  }

  @Test
  void delaysAreFullJitterWithinTheCeilingAndSpread() {
    Backoff backoff = new Backoff(Duration.ofMillis(100), Duration.ofSeconds(10), new SplittableRandom(7));
    for (int attempt = 0; attempt < 12; attempt++) {
      long ceiling = backoff.ceiling(attempt);
      assertThat(backoff.next().toMillis()).isBetween(0L, ceiling);
    }
    // many clients after the same outage spread over the whole window instead of arriving together
    long[] firstDelays = IntStream.range(0, 1000)
        .mapToLong(i -> {
          Backoff one = new Backoff(Duration.ofMillis(100), Duration.ofSeconds(10), new SplittableRandom(i));
          for (int k = 0; k < 5; k++) {
            one.next();
          }
          return one.next().toMillis();
        }).sorted().toArray();
    assertThat(firstDelays[100]).isLessThan(600);
    assertThat(firstDelays[900]).isGreaterThan(2_600);
  }

  @Test
  void resetStartsFromTheBase() {
    Backoff backoff = new Backoff(Duration.ofMillis(100), Duration.ofSeconds(10), new SplittableRandom(3));
    for (int i = 0; i < 6; i++) {
      backoff.next();
    }
    assertThat(backoff.attempts()).isEqualTo(6);
    backoff.reset();
    assertThat(backoff.next().toMillis()).isLessThanOrEqualTo(100);
  }
}
