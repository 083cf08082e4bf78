package io.parley.bench;

import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import java.util.function.LongSupplier;
import java.util.function.LongUnaryOperator;

/**
 * Sends on a fixed schedule, whatever the server does: message {@code n} is due at
 * {@code start + schedule(n)} and goes to the clients in turn. Nothing waits for an ack. When the thread
 * wakes late it sends every message that has come due, each stamped with its own due time, so the
 * lateness counts in the latency instead of being hidden (no coordinated omission).
 */
final class OpenLoopDriver {
  private static final long MAX_PARK_NANOS = TimeUnit.MILLISECONDS.toNanos(1);

  /** Sends the next message of client {@code client}, due at {@code due} on the bench clock. */
  @FunctionalInterface
  interface Sender {
    void send(int client, long due);
  }

  private final LongUnaryOperator schedule;
  private final LongSupplier clock;
  private final int clients;
  private final Sender sender;

  /**
   * @param schedule when message {@code n} is due, in nanoseconds after the start
   * @param clock the bench clock, in nanoseconds
   * @param clients how many clients take the messages in turn
   */
  /** When message {@code n} of a schedule of {@code rate} messages a second is due, in ns after its start. */
  static long dueNanos(double rate, long n) {
    return (long) (n * 1e9 / rate);
  }

  /** How many messages a schedule of {@code rate} messages a second sends in {@code span}. */
  static long messagesIn(double rate, java.time.Duration span) {
    return Math.round(rate * span.toNanos() / 1e9);
  }

  OpenLoopDriver(LongUnaryOperator schedule, LongSupplier clock, int clients, Sender sender) {
    this.schedule = schedule;
    this.clock = clock;
    this.clients = clients;
    this.sender = sender;
  }

  /**
   * Sends {@code total} messages from {@code start} (bench clock); {@code atMessage} runs just before
   * message number {@code markAt} is sent (the start of the measured window), or after the last one when
   * {@code markAt} is not below {@code total}.
   */
  void run(long start, long total, long markAt, Runnable atMessage) {
    long n = 0;
    int next = 0;
    while (n < total) {
      long now = clock.getAsLong();
      long due;
      while (n < total && (due = start + schedule.applyAsLong(n)) <= now) {
        if (n == markAt) {
          atMessage.run();
        }
        sender.send(next, due);
        next = next + 1 == clients ? 0 : next + 1;
        n++;
      }
      if (n < total) {
        long wait = start + schedule.applyAsLong(n) - clock.getAsLong();
        if (wait > 0) {
          LockSupport.parkNanos(Math.min(wait, MAX_PARK_NANOS));
        }
      }
    }
    if (markAt >= total) {
      atMessage.run();
    }
  }

  /** Waits until {@code at} on the bench clock. */
  void sleepUntil(long at) {
    long wait;
    while ((wait = at - clock.getAsLong()) > 0) {
      LockSupport.parkNanos(Math.min(wait, MAX_PARK_NANOS * 10));
    }
  }
}
