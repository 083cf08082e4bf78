package io.parley.bench;

import static io.parley.bench.BenchFormat.f;
import static io.parley.bench.BenchFormat.kv;
import static io.parley.bench.BenchFormat.ms;

import java.io.PrintStream;
import java.util.IntSummaryStatistics;
import java.util.stream.Collectors;
import org.HdrHistogram.Histogram;

/** Prints a run's summary table and one {@code result:} line for scripts. */
final class BenchReport {
  /** The latency goal a run is judged against. */
  static final double P99_GOAL_MS = 50;

  private final BenchResult r;

  BenchReport(BenchResult result) {
    this.r = result;
  }

  void print(PrintStream out) {
    BenchPlan p = r.plan();
    out.println();
    out.println("Parley bench" + (p.label().isEmpty() ? "" : ": " + p.label()) + "  (" + p.url() + ")");
    out.println(f("  %d clients in %d %s; %s;",
        p.clients(), p.conversations(), p.groupSize() == 2
            ? "one-to-one conversations, each client sending to its peer"
            : f("groups of %d, each message to the %d other members", p.groupSize(), p.recipientsPerMessage()),
        p.encrypt()
            ? f("Signal-encrypted %d-byte texts (%d-byte plaintexts)", p.payloadBytes(),
                BenchPlaintext.size(p.payloadBytes()))
            : f("%d-byte bodies", p.payloadBytes())));
    out.println(f("  acknowledging every %s; %d s warm-up, %d s measured; the load generator shares the machine",
        p.ackEvery() == 1 ? "frame" : p.ackEvery() + " frames", p.warmup().toSeconds(), p.duration().toSeconds()));
    out.println();
    row(out, "metric", "value");
    row(out, "-".repeat(26), "-".repeat(60));
    Bench.Setup s0 = r.setup();
    row(out, "set-up", f("logins %.1f s, sockets %.1f s (%,.0f a second), conversations %.1f s (%d creates retried)",
        s0.loginSeconds(), s0.connectSeconds(), p.clients() / s0.connectSeconds(), s0.createSeconds(),
        s0.createRetries()));
    row(out, "offered", f("%,.0f msg/s (%.2f per user)", p.rate(), p.perUserRate()));
    row(out, "delivered (in window)", p.groupSize() == 2
        ? f("%,.0f msg/s  (%,d in %.1f s)", r.deliveredPerSecond(), r.deliveredInWindow(), r.measuredSeconds())
        : f("%,.0f msg/s, %,.0f deliveries/s  (%,d deliveries in %.1f s)", r.messagesPerSecond(),
            r.deliveredPerSecond(), r.deliveredInWindow(), r.measuredSeconds()));
    row(out, "measured messages", f("sent %,d, delivered %,d; all sends %,d, acked %,d",
        r.sentMeasured(), r.deliveredMeasured(), r.sentTotal(), r.ackedTotal()));
    row(out, "end-to-end latency", latencies(r.endToEnd(), true));
    row(out, "ack latency", latencies(r.ack(), false));
    row(out, "delivery check", f("lost %,d, gaps %,d, repeated/out-of-order %,d, sends unanswered %,d%s%s%s",
        r.missing(), r.skipped(), r.repeated(), r.unanswered(),
        r.sendRetries() > 0 ? f(", sent again after unavailable %,d", r.sendRetries()) : "",
        r.duplicateAcks() > 0 ? f(", duplicate acks %,d", r.duplicateAcks()) : "",
        r.unanswered() > 0 ? " (not settled: what was still missing at the drain timeout)" : ""));
    row(out, "errors", r.errorCount() == 0 ? "none" : errors());
    r.encryption().ifPresent(e -> encryption(out, e));
    row(out, "settled after sending", f("%.1f s", r.drainSeconds()));
    r.server().ifPresentOrElse(s -> {
      row(out, "server CPU", f("%.2f cores, %.2f cores per 1,000 msg/s delivered", s.cpuCores(),
          r.serverCoresPerThousand()));
      row(out, "server heap", s.note().isEmpty()
          ? f("used max %,.0f MiB, at end %,.0f MiB, committed %,.0f MiB; %d GC pauses, %.2f s",
              s.heapUsedMaxMib(), s.heapUsedEndMib(), s.heapCommittedMib(), s.gcCount(), s.gcPauseSeconds())
          : s.note());
      row(out, "server RSS", f("max %,.0f MiB", s.rssMaxMib()));
    }, () -> row(out, "server", "not measured (give --server-pid)"));
    HostProbe.Usage h = r.host();
    row(out, "load generator CPU", f("%.2f cores", h.benchCores()));
    double server = r.server().map(ServerProbe.Usage::cpuCores).orElse(Double.NaN);
    row(out, "machine", f("%.2f of %d cores busy%s; load average %.2f -> %.2f", h.busyCores(), h.cores(),
        Double.isNaN(server) ? "" : f(" (other processes %.2f)", Math.max(0, h.busyCores() - server - h.benchCores())),
        h.loadAtStart(), h.loadAtEnd()));
    row(out, "verdict", verdict());
    out.println();
    out.println(resultLine());
    out.flush();
  }

  private static void encryption(PrintStream out, BenchResult.Encryption e) {
    row(out, "sessions", f("PQXDH from claimed bundles, set up in %.1f s (one PreKey message and one Whisper answer"
        + " per conversation)", e.sessionSetupSeconds()));
    row(out, "ciphertext sizes", f("Whisper %s, PreKey %s", sizes(e.whisperBytes()), sizes(e.preKeyBytes())));
    Histogram n = e.encryptNanos();
    row(out, "pre-encryption (client)", f("%,d messages in %.1f s before sending; per message mean %.0f us,"
        + " p50 %.0f us, p99 %.0f us, max %.0f us", e.preEncrypted(), e.preEncryptSeconds(), n.getMean() / 1e3,
        n.getValueAtPercentile(50) / 1e3, n.getValueAtPercentile(99) / 1e3, n.getMaxValue() / 1e3));
    DecryptionCheck.Outcome d = e.decryption();
    row(out, "decryption check", f("%,d deliveries decrypted after the run, %,d failed; per message p50 %.0f us,"
        + " p99 %.0f us", d.opened(), d.failed(), d.decryptNanos().getValueAtPercentile(50) / 1e3,
        d.decryptNanos().getValueAtPercentile(99) / 1e3));
  }

  private static String sizes(IntSummaryStatistics s) {
    if (s.getCount() == 0) {
      return "none";
    }
    return s.getMin() == s.getMax()
        ? f("%,d B (n=%,d)", s.getMin(), s.getCount())
        : f("%,d-%,d B, mean %,.0f B (n=%,d)", s.getMin(), s.getMax(), s.getAverage(), s.getCount());
  }

  private String verdict() {
    double p99 = Bench.ms(r.endToEnd().getValueAtPercentile(99));
    boolean kept = r.messagesPerSecond() >= 0.98 * r.plan().rate();
    String faults = r.hasDeliveryFaults() ? "; DELIVERY FAULTS" : "";
    return f("p99 %s %.0f ms, %s the offered rate%s", p99 <= P99_GOAL_MS ? "<=" : ">", P99_GOAL_MS,
        kept ? "kept up with" : "fell behind", faults);
  }

  /** key=value pairs on one line, for collecting runs into a table. */
  String resultLine() {
    Histogram e = r.endToEnd();
    Histogram a = r.ack();
    StringBuilder line = new StringBuilder("result:");
    kv(line, "label", r.plan().label().isEmpty() ? "-" : r.plan().label().replace(' ', '_'));
    kv(line, "clients", r.plan().clients());
    kv(line, "group", r.plan().groupSize());
    kv(line, "offered", f("%.0f", r.plan().rate()));
    kv(line, "delivered", f("%.0f", r.messagesPerSecond()));
    kv(line, "deliveries", f("%.0f", r.deliveredPerSecond()));
    kv(line, "p50_ms", ms(e, 50));
    kv(line, "p99_ms", ms(e, 99));
    kv(line, "p999_ms", ms(e, 99.9));
    kv(line, "max_ms", f("%.1f", Bench.ms(e.getMaxValue())));
    kv(line, "ack_p50_ms", ms(a, 50));
    kv(line, "ack_p99_ms", ms(a, 99));
    kv(line, "lost", r.missing());
    kv(line, "gaps", r.skipped());
    kv(line, "repeated", r.repeated());
    kv(line, "errors", r.errorCount());
    kv(line, "send_retries", r.sendRetries());
    kv(line, "login_s", f("%.1f", r.setup().loginSeconds()));
    kv(line, "connect_s", f("%.1f", r.setup().connectSeconds()));
    kv(line, "create_s", f("%.1f", r.setup().createSeconds()));
    kv(line, "create_retries", r.setup().createRetries());
    r.encryption().ifPresent(enc -> {
      kv(line, "encrypt", 1);
      kv(line, "whisper_bytes", f("%.0f", enc.whisperBytes().getAverage()));
      kv(line, "prekey_bytes", f("%.0f", enc.preKeyBytes().getAverage()));
      kv(line, "encrypt_us_mean", f("%.0f", enc.encryptNanos().getMean() / 1e3));
      kv(line, "encrypt_us_p99", f("%.0f", enc.encryptNanos().getValueAtPercentile(99) / 1e3));
      kv(line, "decrypted", enc.decryption().opened());
      kv(line, "decrypt_failed", enc.decryption().failed());
    });
    r.server().ifPresent(s -> {
      kv(line, "server_cpu", f("%.2f", s.cpuCores()));
      kv(line, "cpu_per_kmsg", f("%.3f", r.serverCoresPerThousand()));
      kv(line, "heap_max_mib", f("%.0f", s.heapUsedMaxMib()));
      kv(line, "rss_max_mib", f("%.0f", s.rssMaxMib()));
      kv(line, "gc_s", f("%.2f", s.gcPauseSeconds()));
    });
    kv(line, "bench_cpu", f("%.2f", r.host().benchCores()));
    kv(line, "busy_cores", f("%.2f", r.host().busyCores()));
    r.server().ifPresent(s -> kv(line, "others",
        f("%.2f", Math.max(0, r.host().busyCores() - s.cpuCores() - r.host().benchCores()))));
    kv(line, "load", f("%.2f", r.host().loadAtEnd()));
    return line.toString();
  }

  private String latencies(Histogram h, boolean tail) {
    if (h.getTotalCount() == 0) {
      return "no samples";
    }
    String base = f("p50 %s ms   p99 %s ms", ms(h, 50), ms(h, 99));
    return tail ? base + f("   p99.9 %s ms   max %.1f ms   (n=%,d)", ms(h, 99.9), Bench.ms(h.getMaxValue()),
        h.getTotalCount()) : base;
  }

  private String errors() {
    String frames = r.errors().entrySet().stream().map(e -> e.getKey() + " " + e.getValue())
        .collect(Collectors.joining(", "));
    return r.transportFailures() == 0 ? frames
        : (frames.isEmpty() ? "" : frames + ", ") + "transport failures " + r.transportFailures();
  }

  private static void row(PrintStream out, String name, String value) {
    BenchFormat.row(out, 26, name, value);
  }
}
