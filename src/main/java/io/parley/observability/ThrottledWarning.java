package io.parley.observability;

import java.time.Clock;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Spaces out a repeated warning: {@link #due()} is true for the first call and then at most once per
 * {@code every}, however many threads ask, so a failing dependency is logged without flooding the log.
 */
public final class ThrottledWarning {
  private static final long NEVER = Long.MIN_VALUE;

  private final Clock clock;
  private final long everyMillis;
  private final AtomicLong lastAt = new AtomicLong(NEVER);

  public ThrottledWarning(Clock clock, Duration every) {
    this.clock = clock;
    this.everyMillis = every.toMillis();
  }

  /** Whether to log now; a true answer counts as logged. */
  public boolean due() {
    long now = clock.millis();
    long last = lastAt.get();
    if (last != NEVER && now - last < everyMillis) {
      return false;
    }
    return lastAt.compareAndSet(last, now);
  }
}
