package io.parley.bench;

import java.net.URI;
import java.time.Duration;
import java.util.OptionalLong;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.http.javadsl.ServerBinding;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code parley bench-echo}: the ceiling, a bare pekko-http WebSocket echo server and its driver. */
@Command(name = "bench-echo", mixinStandardHelpOptions = true, sortOptions = false,
    description = {
      "The ceiling for parley bench: a bare pekko-http WebSocket echo server (same Pekko",
      "and pekko-http as the node, no Parley logic) and a driver with the bench's client",
      "stack, open-loop schedule, payload size and source addresses. Start the server in",
      "its own process with --serve, then drive it with --server-pid to measure its CPU."},
    footer = {"", "Exit status: 0 when every message came back, 1 otherwise, 2 on a setup failure."})
public final class EchoBenchCommand implements Callable<Integer> {

  @Option(names = "--serve", description = "run the echo server (until killed) instead of driving one")
  boolean serve;

  @Option(names = "--host", defaultValue = "127.0.0.1", description = "with --serve: address to bind (default: ${DEFAULT-VALUE})")
  String host;

  @Option(names = "--port", defaultValue = "18090", description = "with --serve: port to bind (default: ${DEFAULT-VALUE})")
  int port;

  @Option(names = "--url", defaultValue = "ws://127.0.0.1:18090/ws", description = "echo server to drive (default: ${DEFAULT-VALUE})")
  URI url;

  @Option(names = "--clients", defaultValue = "100", description = "WebSocket clients (default: ${DEFAULT-VALUE})")
  int clients;

  @Option(names = "--rate", defaultValue = "3000", description = "messages per second offered by all clients together (default: ${DEFAULT-VALUE})")
  double rate;

  @Option(names = "--duration", defaultValue = "30", description = "measured seconds (default: ${DEFAULT-VALUE})")
  long durationSeconds;

  @Option(names = "--warmup", defaultValue = "10", description = "seconds of sending at the same rate before measuring (default: ${DEFAULT-VALUE})")
  long warmupSeconds;

  @Option(names = "--payload", defaultValue = "256", description = "body bytes per message, sent as base64 (default: ${DEFAULT-VALUE})")
  int payload;

  @Option(names = "--threads", defaultValue = "2", description = "client I/O threads; with --serve the server's (default: ${DEFAULT-VALUE})")
  int threads;

  @Option(names = "--clients-per-address", defaultValue = "25", description = "sockets per loopback source address (default: ${DEFAULT-VALUE})")
  int clientsPerAddress;

  @Option(names = "--drain-timeout", defaultValue = "10", description = "seconds to wait after sending for outstanding echoes (default: ${DEFAULT-VALUE})")
  long drainSeconds;

  @Option(names = "--server-pid", description = "pid of the echo server's JVM, to report its CPU, heap and RSS")
  Long serverPid;

  @Option(names = "--label", defaultValue = "", description = "a name for this run in the summary")
  String label;

  @Override
  public Integer call() throws InterruptedException {
    if (serve) {
      return serve();
    }
    if (clients < 1 || !(rate > 0) || payload < Payload.MIN_BYTES || durationSeconds < 1 || warmupSeconds < 0) {
      System.err.println("--clients, --rate, --duration must be positive, --payload at least " + Payload.MIN_BYTES);
      return 2;
    }
    EchoBench.Plan plan = new EchoBench.Plan(url, clients, rate, Duration.ofSeconds(warmupSeconds),
        Duration.ofSeconds(durationSeconds), payload, threads, clientsPerAddress, Duration.ofSeconds(drainSeconds),
        serverPid == null ? OptionalLong.empty() : OptionalLong.of(serverPid), label);
    try {
      return new EchoBench(plan, System.out).run() ? 0 : 1;
    } catch (RuntimeException e) {
      System.err.println("bench-echo failed: " + e);
      return 2;
    }
  }

  private int serve() throws InterruptedException {
    BenchTransport transport = new BenchTransport(URI.create("ws://" + host), 0, Math.max(2, threads));
    ServerBinding binding;
    try {
      binding = EchoServer.bind(transport, host, port).toCompletableFuture().get(30, TimeUnit.SECONDS);
    } catch (Exception e) {
      System.err.println("could not bind " + host + ":" + port + ": " + e);
      transport.close();
      return 2;
    }
    System.out.println("echo server on ws://" + binding.localAddress().getHostString() + ":"
        + binding.localAddress().getPort() + "/ws (pid " + ProcessHandle.current().pid() + ")");
    System.out.flush();
    new CountDownLatch(1).await(); // until the process is killed
    return 0;
  }
}
