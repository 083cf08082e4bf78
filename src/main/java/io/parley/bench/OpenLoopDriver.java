package io.parley.bench;

import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;

/**
 * Sends on a fixed schedule, whatever the server does: message {@code n} is due at
 * {@code start + n / rate} and goes to the clients in turn. Nothing waits for an ack. When the thread
 * wakes late it sends every message that has come due, each stamped with its own due time, so the
 * lateness counts in the latency instead of being hidden (no coordinated omission).
 */
final class OpenLoopDriver {
  private static final long MAX_PARK_NANOS = TimeUnit.MILLISECONDS.toNanos(1);

  private final BenchPlan plan;
  private final List<BenchClient> senders;
  private final BenchMetrics metrics;

  OpenLoopDriver(BenchPlan plan, List<BenchClient> senders, BenchMetrics metrics) {
    this.plan = plan;
    this.senders = senders;
    this.metrics = metrics;
  }

  /**
   * Sends {@code total} messages from {@code start} (bench clock); {@code atMessage} runs just before
   * message number {@code markAt} is sent (the start of the measured window).
   */
  void run(long start, long total, long markAt, Runnable atMessage) {
    long n = 0;
    int next = 0;
    while (n < total) {
      long now = metrics.now();
      long due;
      while (n < total && (due = start + plan.dueNanos(n)) <= now) {
        if (n == markAt) {
          atMessage.run();
        }
        senders.get(next).sendMessage(due);
        next = next + 1 == senders.size() ? 0 : next + 1;
        n++;
      }
      if (n < total) {
        long wait = start + plan.dueNanos(n) - metrics.now();
        if (wait > 0) {
          LockSupport.parkNanos(Math.min(wait, MAX_PARK_NANOS));
        }
      }
    }
  }

  /** Waits until {@code at} on the bench clock. */
  void sleepUntil(long at) {
    long wait;
    while ((wait = at - metrics.now()) > 0) {
      LockSupport.parkNanos(Math.min(wait, MAX_PARK_NANOS * 10));
    }
  }
}
