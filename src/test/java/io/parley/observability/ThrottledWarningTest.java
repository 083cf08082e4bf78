package io.parley.observability;

import static org.assertj.core.api.Assertions.assertThat;

import io.parley.testing.MutableClock;
import java.time.Duration;
import java.time.Instant;
import org.junit.jupiter.api.Test;

class ThrottledWarningTest {

  @Test
  void theFirstWarningIsDueAndThenOneAMinute() {
    MutableClock clock = new MutableClock(Instant.parse("2025-01-01T00:00:00Z"));
    ThrottledWarning warning = new ThrottledWarning(clock, Duration.ofMinutes(1));

    assertThat(warning.due()).isTrue();
    assertThat(warning.due()).isFalse();
    clock.advance(Duration.ofMillis(59_999));
    assertThat(warning.due()).isFalse();
    clock.advance(Duration.ofMillis(1));
    assertThat(warning.due()).isTrue();
    assertThat(warning.due()).isFalse();
  }
}
