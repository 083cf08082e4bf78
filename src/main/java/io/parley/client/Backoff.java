package io.parley.client;

import java.time.Duration;
import java.util.random.RandomGenerator;

/** Exponential backoff with full jitter: attempt n waits a uniform random time in [0, min(cap, base · 2^n)]. */
final class Backoff {
  private final long baseMillis;
  private final long capMillis;
  private final RandomGenerator random;
  private int attempt;

  Backoff(Duration base, Duration cap, RandomGenerator random) {
    if (base.isNegative() || base.isZero() || cap.compareTo(base) < 0) {
      throw new IllegalArgumentException("backoff needs 0 < base <= cap");
    }
    this.baseMillis = base.toMillis();
    this.capMillis = cap.toMillis();
    this.random = random;
  }

  /** The delay before the next attempt; each call counts one more attempt. */
  Duration next() {
    long ceiling = ceiling(attempt);
    attempt = Math.min(attempt + 1, 62);
    return Duration.ofMillis(random.nextLong(ceiling + 1));
  }

  /** The upper bound of the delay for attempt {@code n}. */
  long ceiling(int n) {
    int shift = Math.min(n, 40);
    long grown = baseMillis << shift;
    return grown <= 0 || grown > capMillis ? capMillis : grown;
  }

  /** After a successful connection: the next failure starts from the base again. */
  void reset() {
    attempt = 0;
  }

  int attempts() {
    return attempt;
  }
}
