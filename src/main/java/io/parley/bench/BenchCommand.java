package io.parley.bench;

import java.net.URI;
import java.time.Duration;
import java.util.OptionalLong;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** Load generator: drives WebSocket clients in one-to-one or group conversations against a running node. */
@Command(name = "bench", mixinStandardHelpOptions = true, sortOptions = false,
    description = {
      "Measure a running Parley node as production runs it (metrics and rate limits on):",
      "N clients in conversations of --group-size members (2: one-to-one), every client",
      "sending to the others on a fixed schedule (open loop: sends never wait for acks),",
      "every receiver acknowledging what it gets. The defaults stay inside the default",
      "per-user send limits (1.5 msg/s each) and spread the sockets over loopback source",
      "addresses (the per-address connect limit). Reports delivered messages/s,",
      "send-to-receive and ack latency, lost, repeated and out-of-order deliveries, and the",
      "server's CPU (also per 1,000 msg/s) and heap. Needs the node's dev token endpoint",
      "(embedded profile, or PARLEY_DEV_TOKENS=true)."},
    footer = {"", "Exit status: 0 when every message was delivered once and in order,",
        "1 otherwise, 2 on a setup failure."})
public final class BenchCommand implements Callable<Integer> {

  @Option(names = "--url", defaultValue = "ws://127.0.0.1:8080", description = "node to measure (default: ${DEFAULT-VALUE})")
  URI url;

  @Option(names = "--clients", defaultValue = "2000", description = "WebSocket clients, a multiple of --group-size (default: ${DEFAULT-VALUE})")
  int clients;

  @Option(names = "--group-size", defaultValue = "2", description = "members per conversation; 2 is one-to-one, in a group every message carries one envelope per other member (default: ${DEFAULT-VALUE})")
  int groupSize;

  @Option(names = "--rate", defaultValue = "3000", description = "messages per second offered by all clients together (default: ${DEFAULT-VALUE})")
  double rate;

  @Option(names = "--duration", defaultValue = "30", description = "measured seconds (default: ${DEFAULT-VALUE})")
  long durationSeconds;

  @Option(names = "--messages", description = "messages each client sends in the measured window; replaces --duration")
  Long messagesPerClient;

  @Option(names = "--warmup", defaultValue = "10", description = "seconds of sending at the same rate before measuring (default: ${DEFAULT-VALUE})")
  long warmupSeconds;

  @Option(names = "--payload", defaultValue = "256", description = "ciphertext bytes per message (default: ${DEFAULT-VALUE})")
  int payload;

  @Option(names = "--encrypt", description = "send real Signal ciphertexts: PQXDH sessions from the key directory, every message encrypted before sending starts (--payload is then the text size), every delivery decrypted after the run")
  boolean encrypt;

  @Option(names = "--ack-every", defaultValue = "1", description = "acknowledge after this many frames per conversation (and at least every 50 ms) (default: ${DEFAULT-VALUE})")
  int ackEvery;

  @Option(names = "--threads", defaultValue = "2", description = "client I/O threads (default: ${DEFAULT-VALUE})")
  int threads;

  @Option(names = "--clients-per-address", defaultValue = "25", description = "sockets per loopback source address (127.0.0.2, 127.0.0.3, ...) when the node is on loopback; 0: all from the default address (default: ${DEFAULT-VALUE})")
  int clientsPerAddress;

  @Option(names = "--drain-timeout", defaultValue = "30", description = "seconds to wait after sending for outstanding acks and deliveries (default: ${DEFAULT-VALUE})")
  long drainSeconds;

  @Option(names = "--server-pid", description = "pid of the node's JVM on this machine, to report its CPU, heap and RSS")
  Long serverPid;

  @Option(names = "--label", defaultValue = "", description = "a name for this run in the summary")
  String label;

  @Override
  public Integer call() throws InterruptedException {
    BenchPlan plan;
    try {
      Duration duration = messagesPerClient == null
          ? Duration.ofSeconds(durationSeconds)
          : Duration.ofNanos((long) (messagesPerClient * clients / rate * 1e9));
      plan = new BenchPlan(url, clients, groupSize, rate, Duration.ofSeconds(warmupSeconds), duration, payload,
          ackEvery, threads, Duration.ofSeconds(drainSeconds),
          serverPid == null ? OptionalLong.empty() : OptionalLong.of(serverPid), label, encrypt, clientsPerAddress);
    } catch (IllegalArgumentException e) {
      System.err.println(e.getMessage());
      return 2;
    }
    BenchResult result;
    try {
      result = new Bench(plan, System.out).run();
    } catch (RuntimeException e) {
      System.err.println("bench failed: " + e);
      return 2;
    }
    new BenchReport(result).print(System.out);
    return result.hasDeliveryFaults() ? 1 : 0;
  }
}
