package io.parley.bench;

import java.util.Map;
import java.util.Optional;
import org.HdrHistogram.Histogram;

/** Everything one run measured; latencies in microseconds. */
record BenchResult(
    BenchPlan plan,
    double measuredSeconds,
    long sentMeasured,
    long ackedTotal,
    long sentTotal,
    long deliveredMeasured,
    long deliveredInWindow,
    Histogram endToEnd,
    Histogram ack,
    long duplicateAcks,
    long unanswered,
    long missing,
    long skipped,
    long repeated,
    Map<String, Long> errors,
    long transportFailures,
    double drainSeconds,
    Optional<ServerProbe.Usage> server,
    HostProbe.Usage host) {

  double deliveredPerSecond() {
    return deliveredInWindow / measuredSeconds;
  }

  /** Lost, repeated or out-of-order deliveries, or sends that were never answered. */
  boolean hasDeliveryFaults() {
    return missing > 0 || skipped > 0 || repeated > 0 || unanswered > 0;
  }

  long errorCount() {
    return errors.values().stream().mapToLong(Long::longValue).sum() + transportFailures;
  }
}
