package io.parley.bench;

import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.LongAdder;
import org.HdrHistogram.Histogram;
import org.HdrHistogram.Recorder;

/**
 * Counters and latency histograms shared by every client thread. Times are nanoseconds on the bench's
 * own clock ({@link #now()}); latencies are recorded in microseconds, from when a message was due to be
 * sent (so queueing in the client counts) to when its ack or its delivery arrived. Only messages due in
 * the measured window go into the final histograms.
 */
final class BenchMetrics {
  private final long origin = System.nanoTime();
  private volatile long measureFrom = Long.MAX_VALUE;
  private volatile long measureTo = Long.MAX_VALUE;

  private final Recorder endToEnd = new Recorder(3);
  private final Recorder ack = new Recorder(3);
  private final Recorder progress = new Recorder(3);

  final LongAdder sent = new LongAdder();
  final LongAdder sentMeasured = new LongAdder();
  final LongAdder acked = new LongAdder();
  final LongAdder duplicateAcks = new LongAdder();
  final LongAdder delivered = new LongAdder();
  final LongAdder deliveredMeasured = new LongAdder();
  final LongAdder deliveredInWindow = new LongAdder();
  final LongAdder transportFailures = new LongAdder();
  /** Sends answered {@code unavailable} and sent again with the same idempotency key. */
  final LongAdder sendRetries = new LongAdder();
  /** Sends answered with an error frame instead of an ack (after their retries). */
  final LongAdder sendErrors = new LongAdder();
  private final Map<String, LongAdder> errors = new ConcurrentHashMap<>();

  long now() {
    return System.nanoTime() - origin;
  }

  /** Messages due from {@code from} (inclusive) to {@code to} (exclusive) are the measured ones. */
  void measureWindow(long from, long to) {
    measureFrom = from;
    measureTo = to;
  }

  boolean measured(long dueNanos) {
    return dueNanos >= measureFrom && dueNanos < measureTo;
  }

  void sent(long dueNanos) {
    sent.increment();
    if (measured(dueNanos)) {
      sentMeasured.increment();
    }
  }

  void acked(long dueNanos, boolean duplicate) {
    acked.increment();
    if (duplicate) {
      duplicateAcks.increment();
    }
    if (measured(dueNanos)) {
      ack.recordValue(micros(now() - dueNanos));
    }
  }

  void delivered(long dueNanos) {
    long at = now();
    long latency = micros(at - dueNanos);
    delivered.increment();
    progress.recordValue(latency);
    if (at >= measureFrom && at < measureTo) {
      deliveredInWindow.increment();
    }
    if (measured(dueNanos)) {
      deliveredMeasured.increment();
      endToEnd.recordValue(latency);
    }
  }

  void error(String code) {
    errors.computeIfAbsent(code, c -> new LongAdder()).increment();
  }

  Map<String, Long> errors() {
    Map<String, Long> copy = new TreeMap<>();
    errors.forEach((code, count) -> copy.put(code, count.sum()));
    return copy;
  }

  /** Delivery latencies of every message since the last call, for progress lines. */
  Histogram progressInterval() {
    return progress.getIntervalHistogram();
  }

  /** Call once at the end. */
  Histogram endToEndHistogram() {
    return endToEnd.getIntervalHistogram();
  }

  /** Call once at the end. */
  Histogram ackHistogram() {
    return ack.getIntervalHistogram();
  }

  private static long micros(long nanos) {
    return Math.max(0, TimeUnit.NANOSECONDS.toMicros(nanos));
  }
}
