package io.parley.bench;

import java.util.IntSummaryStatistics;
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
    long sendRetries,
    long unanswered,
    long missing,
    long skipped,
    long repeated,
    Map<String, Long> errors,
    long transportFailures,
    double drainSeconds,
    Optional<ServerProbe.Usage> server,
    HostProbe.Usage host,
    Optional<Encryption> encryption,
    Bench.Setup setup) {

  /**
   * What {@code --encrypt} added: the Signal session set-up, the client-side pre-encryption (per message, in
   * nanoseconds), the sizes of the ciphertexts sent (set-up messages included) and the decryption of every
   * delivery after the run.
   */
  record Encryption(int plaintextBytes, double sessionSetupSeconds, long preEncrypted, double preEncryptSeconds,
                    Histogram encryptNanos, IntSummaryStatistics whisperBytes, IntSummaryStatistics preKeyBytes,
                    DecryptionCheck.Outcome decryption, double decryptSeconds) {}

  /** Deliveries (one per receiving device) a second inside the window. */
  double deliveredPerSecond() {
    return deliveredInWindow / measuredSeconds;
  }

  /** Messages delivered a second: deliveries divided by the devices each message goes to. */
  double messagesPerSecond() {
    return deliveredPerSecond() / plan.recipientsPerMessage();
  }

  /** Server cores per 1,000 delivered messages a second; NaN without a server pid or deliveries. */
  double serverCoresPerThousand() {
    double perSecond = messagesPerSecond();
    return server.isEmpty() || perSecond <= 0 ? Double.NaN : server.get().cpuCores() / (perSecond / 1000);
  }

  /** Lost, repeated or out-of-order deliveries, sends that were never answered, or deliveries that did not decrypt. */
  boolean hasDeliveryFaults() {
    return missing > 0 || skipped > 0 || repeated > 0 || unanswered > 0 || decryptionFailures() > 0;
  }

  long decryptionFailures() {
    return encryption.map(e -> e.decryption().failed()).orElse(0L);
  }

  long errorCount() {
    return errors.values().stream().mapToLong(Long::longValue).sum() + transportFailures;
  }
}
