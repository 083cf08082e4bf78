package io.parley.bench;

import static io.parley.bench.BenchFormat.f;
import static io.parley.bench.BenchFormat.kv;
import static io.parley.bench.BenchFormat.ms;

import java.io.PrintStream;
import java.net.URI;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import org.HdrHistogram.Histogram;

/**
 * The driver of {@code parley bench-echo}: {@code clients} sockets to an echo server from the bench's
 * client stack and source addresses, {@code rate} messages a second on the open-loop schedule of
 * {@code parley bench} (latency from the due time), each a text frame with a body of {@code payloadBytes}
 * (the base64 of a bench message's fake ciphertext), timed when it comes back. Reports the same figures
 * as {@code parley bench}: delivered rate, latency, server CPU and CPU per 1,000 msg/s.
 */
final class EchoBench {
  /** What one echo run does. */
  record Plan(URI url, int clients, double rate, Duration warmup, Duration duration, int payloadBytes, int threads,
              int clientsPerAddress, Duration drainTimeout, OptionalLong serverPid, String label) {
    long warmupMessages() {
      return OpenLoopDriver.messagesIn(rate, warmup);
    }

    long measuredMessages() {
      return OpenLoopDriver.messagesIn(rate, duration);
    }

    long dueNanos(long n) {
      return OpenLoopDriver.dueNanos(rate, n);
    }
  }

  private static final int CONCURRENT_CONNECTS = 64;

  private final Plan plan;
  private final PrintStream out;
  private final BenchMetrics metrics = new BenchMetrics();

  EchoBench(Plan plan, PrintStream out) {
    this.plan = plan;
    this.out = out;
  }

  /** Runs and prints the report; true when every message came back. */
  boolean run() throws InterruptedException {
    Payload payload = new Payload(plan.payloadBytes());
    try (BenchTransport transport = new BenchTransport(plan.url(), plan.clientsPerAddress(), plan.threads())) {
      long started = System.nanoTime();
      Semaphore permits = new Semaphore(CONCURRENT_CONNECTS);
      List<CompletableFuture<BenchSocket>> opening = new ArrayList<>();
      for (int i = 0; i < plan.clients(); i++) {
        permits.acquireUninterruptibly();
        opening.add(BenchSocket.open(transport, plan.url(), i, this::echoed)
            .whenComplete((s, failure) -> permits.release()));
      }
      List<BenchSocket> sockets = opening.stream().map(CompletableFuture::join).toList();
      say("connected %d WebSockets in %.1f s from %d source address(es)", sockets.size(),
          (System.nanoTime() - started) / 1e9, transport.addressesFor(sockets.size()));
      sockets.forEach(s -> s.closed().whenComplete((done, failure) -> metrics.error("socket_closed")));

      Optional<ServerProbe> server = plan.serverPid().isPresent()
          ? Optional.of(ServerProbe.attach(plan.serverPid().getAsLong())) : Optional.empty();
      try {
        long warmup = plan.warmupMessages();
        long total = warmup + plan.measuredMessages();
        long start = metrics.now() + TimeUnit.MILLISECONDS.toNanos(200);
        long from = start + plan.dueNanos(warmup);
        long to = start + plan.dueNanos(total);
        metrics.measureWindow(from, to);
        say("sending %,.0f msg/s: %d s warm-up, then %d s measured", plan.rate(), plan.warmup().toSeconds(),
            plan.duration().toSeconds());
        int[] numbers = new int[sockets.size()];
        OpenLoopDriver driver = new OpenLoopDriver(plan::dueNanos, metrics::now, sockets.size(), (client, due) -> {
          metrics.sent(due);
          if (!sockets.get(client).send(payload.body(due, numbers[client]++))) {
            metrics.error("client_queue_full");
          }
        });
        HostProbe.Snapshot[] hostAtStart = new HostProbe.Snapshot[1];
        driver.run(start, total, warmup, () -> {
          server.ifPresent(ServerProbe::markStart);
          hostAtStart[0] = HostProbe.take();
        });
        driver.sleepUntil(to);
        server.ifPresent(ServerProbe::markEnd);
        HostProbe.Usage host = HostProbe.between(hostAtStart[0], HostProbe.take());
        long deadline = System.nanoTime() + plan.drainTimeout().toNanos();
        while (metrics.delivered.sum() < metrics.sent.sum() && System.nanoTime() < deadline) {
          Thread.sleep(50);
        }
        sockets.forEach(BenchSocket::close);
        return report(server.map(ServerProbe::usage), host, (to - from) / 1e9);
      } finally {
        server.ifPresent(ServerProbe::close);
      }
    }
  }

  private void echoed(String text) {
    try {
      metrics.delivered(Payload.dueNanos(text));
    } catch (IllegalArgumentException e) {
      metrics.error("unexpected_frame");
    }
  }

  private boolean report(Optional<ServerProbe.Usage> server, HostProbe.Usage host, double seconds) {
    Histogram e2e = metrics.endToEndHistogram();
    double delivered = metrics.deliveredInWindow.sum() / seconds;
    long missing = metrics.sent.sum() - metrics.delivered.sum();
    double perThousand = server.map(s -> delivered > 0 ? s.cpuCores() / (delivered / 1000) : Double.NaN)
        .orElse(Double.NaN);
    double others = server.map(s -> Math.max(0, host.busyCores() - s.cpuCores() - host.benchCores()))
        .orElse(Double.NaN);
    out.println();
    out.println("Echo bench" + (plan.label().isEmpty() ? "" : ": " + plan.label()) + "  (" + plan.url() + ")");
    out.println(f("  %d sockets, each text frame (%d-byte body as base64) sent back by the server; %d s warm-up,"
        + " %d s measured", plan.clients(), plan.payloadBytes(), plan.warmup().toSeconds(), plan.duration().toSeconds()));
    out.println();
    row("metric", "value");
    row("-".repeat(26), "-".repeat(60));
    row("offered", f("%,.0f msg/s", plan.rate()));
    row("delivered (in window)", f("%,.0f msg/s  (%,d in %.1f s)", delivered, metrics.deliveredInWindow.sum(), seconds));
    row("round trip latency", e2e.getTotalCount() == 0 ? "no samples"
        : f("p50 %s ms   p99 %s ms   p99.9 %s ms   max %.1f ms   (n=%,d)", ms(e2e, 50), ms(e2e, 99),
            ms(e2e, 99.9), Bench.ms(e2e.getMaxValue()), e2e.getTotalCount()));
    row("missing", f("%,d of %,d sent", missing, metrics.sent.sum()));
    row("errors", metrics.errors().toString());
    server.ifPresentOrElse(s -> {
      row("server CPU", f("%.2f cores, %.2f cores per 1,000 msg/s", s.cpuCores(), perThousand));
      row("server heap", f("used max %,.0f MiB; RSS max %,.0f MiB", s.heapUsedMaxMib(), s.rssMaxMib()));
    }, () -> row("server", "not measured (give --server-pid)"));
    row("load generator CPU", f("%.2f cores", host.benchCores()));
    row("machine", f("%.2f of %d cores busy (other processes %.2f); load average %.2f -> %.2f", host.busyCores(),
        host.cores(), others, host.loadAtStart(), host.loadAtEnd()));
    out.println();
    StringBuilder line = new StringBuilder("result:");
    kv(line, "label", plan.label().isEmpty() ? "echo" : plan.label().replace(' ', '_'));
    kv(line, "clients", plan.clients());
    kv(line, "offered", f("%.0f", plan.rate()));
    kv(line, "delivered", f("%.0f", delivered));
    kv(line, "p50_ms", ms(e2e, 50));
    kv(line, "p99_ms", ms(e2e, 99));
    kv(line, "p999_ms", ms(e2e, 99.9));
    kv(line, "missing", missing);
    server.ifPresent(s -> {
      kv(line, "server_cpu", f("%.2f", s.cpuCores()));
      kv(line, "cpu_per_kmsg", f("%.3f", perThousand));
    });
    kv(line, "bench_cpu", f("%.2f", host.benchCores()));
    kv(line, "busy_cores", f("%.2f", host.busyCores()));
    kv(line, "others", f("%.2f", others));
    out.println(line);
    out.flush();
    return missing == 0;
  }

  private void row(String name, String value) {
    BenchFormat.row(out, 26, name, value);
  }

  private void say(String format, Object... args) {
    out.println(f(format, args));
    out.flush();
  }
}
