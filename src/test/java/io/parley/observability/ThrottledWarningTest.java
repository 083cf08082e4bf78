package io.parley.observability;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

class ThrottledWarningTest {

  @Test
  void theFirstWarningIsDueAndThenOneAMinute() {
    AtomicLong millis = new AtomicLong(Instant.parse("2025-01-01T00:00:00Z").toEpochMilli());
    ThrottledWarning warning = new ThrottledWarning(clock(millis), Duration.ofMinutes(1));

    assertThat(warning.due()).isTrue();
    assertThat(warning.due()).isFalse();
    millis.addAndGet(59_999);
    assertThat(warning.due()).isFalse();
    millis.addAndGet(1);
    assertThat(warning.due()).isTrue();
    assertThat(warning.due()).isFalse();
  }

  private static Clock clock(AtomicLong millis) {
    return new Clock() {
      @Override
      public long millis() {
        return millis.get();
      }

      @Override
      public Instant instant() {
        return Instant.ofEpochMilli(millis.get());
      }

      @Override
      public ZoneId getZone() {
        return ZoneOffset.UTC;
      }

      @Override
      public Clock withZone(ZoneId zone) {
        throw new UnsupportedOperationException("a test clock stays in UTC");
      }
    };
  }
}
