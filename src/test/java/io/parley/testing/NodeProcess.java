package io.parley.testing;

import io.parley.Main;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;

/**
 * A Parley node in a child JVM ({@code parley server} on the test classpath), configured through
 * {@code -D} system properties. Its output goes to a log file; {@link #awaitUp} waits for the line the
 * server prints once its edge is bound.
 */
public final class NodeProcess implements AutoCloseable {
  private static final String UP = "Parley is up: ";

  private final Process process;
  private final Path log;
  private final CompletableFuture<String> up = new CompletableFuture<>();
  private final Thread pump;
  private final Thread reaper;

  private NodeProcess(Process process, Path log) {
    this.process = process;
    this.log = log;
    this.pump = new Thread(this::pumpOutput, "node-output-" + process.pid());
    this.pump.setDaemon(true);
    this.pump.start();
    // a test JVM that exits before its cleanup ran must not leave a node behind
    this.reaper = new Thread(process::destroyForcibly, "node-reaper-" + process.pid());
    Runtime.getRuntime().addShutdownHook(reaper);
  }

  /** Starts {@code parley server} with {@code properties} as system properties; output goes to {@code log}. */
  public static NodeProcess start(Map<String, String> properties, Path log) {
    List<String> command = new ArrayList<>();
    command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    command.add("-Xmx384m");
    command.add("-XX:+UseSerialGC");
    // start-up dominates a test node's life; the C1 compiler alone gets it there sooner
    command.add("-XX:TieredStopAtLevel=1");
    properties.forEach((key, value) -> command.add("-D" + key + "=" + value));
    command.add("-cp");
    command.add(System.getProperty("java.class.path"));
    command.add(Main.class.getName());
    command.add("server");
    try {
      Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
      return new NodeProcess(process, log);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot start a node process", e);
    }
  }

  /** The system properties of an embedded node on {@code dataDir} with the given ports and Redis. */
  public static Map<String, String> embeddedNode(Path dataDir, int httpPort, int managementPort, String redisUrl,
                                                 boolean fsync) {
    return Map.ofEntries(
        Map.entry("parley.http.port", Integer.toString(httpPort)),
        Map.entry("parley.store.embedded.data-dir", dataDir.toString()),
        Map.entry("parley.store.embedded.fsync", Boolean.toString(fsync)),
        Map.entry("parley.store.mongodb-uri", ""),
        Map.entry("parley.redis.url", redisUrl),
        Map.entry("parley.auth.dev-tokens.enabled", "true"),
        Map.entry("parley.session.cursor-flush-interval", "200ms"),
        Map.entry("parley.session.inbox-flush-interval", "200ms"),
        Map.entry("parley.rate-limits.enabled", "false"),
        // the demo agents' port too: a fixed one would collide with any other node on the machine
        Map.entry("parley.agents.demo.port", Integer.toString(freePort())),
        Map.entry("pekko.remote.artery.canonical.port", "0"),
        Map.entry("pekko.management.http.port", Integer.toString(managementPort)));
  }

  /** Waits until the node has bound its edge; fails with the end of its log otherwise. */
  public void awaitUp(Duration timeout) {
    try {
      up.get(timeout.toMillis(), TimeUnit.MILLISECONDS);
    } catch (Exception e) {
      throw new AssertionError("node not up within " + timeout + " (alive: " + process.isAlive() + "); log tail:\n"
          + logTail(), e);
    }
  }

  /** SIGKILL: no shutdown hook, no coordinated shutdown, nothing flushed. */
  public void kill(Duration timeout) {
    process.destroyForcibly();
    awaitExit(timeout);
  }

  /** SIGTERM: the JVM's shutdown hook runs coordinated shutdown, as in a rolling deploy. */
  public void terminate(Duration timeout) {
    process.destroy();
    awaitExit(timeout);
  }

  public int exitValue() {
    return process.exitValue();
  }

  public String logTail() {
    try {
      List<String> lines = Files.readAllLines(log, StandardCharsets.UTF_8);
      return String.join("\n", lines.subList(Math.max(0, lines.size() - 40), lines.size()));
    } catch (IOException e) {
      return "(log unreadable: " + e + ")";
    }
  }

  /** SIGTERM (coordinated shutdown through the shutdown hook), then SIGKILL if it lingers. */
  @Override
  public void close() {
    try {
      if (process.isAlive()) {
        process.destroy();
        if (!process.waitFor(30, TimeUnit.SECONDS)) {
          process.destroyForcibly();
        }
      }
      awaitExit(Duration.ofSeconds(30));
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      process.destroyForcibly();
    } finally {
      try {
        Runtime.getRuntime().removeShutdownHook(reaper);
      } catch (IllegalStateException alreadyShuttingDown) {
        // the hook runs anyway
      }
    }
  }

  private void awaitExit(Duration timeout) {
    try {
      if (!process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
        throw new AssertionError("node process did not exit within " + timeout);
      }
      pump.join(timeout.toMillis());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  private void pumpOutput() {
    try (BufferedReader lines = new BufferedReader(new InputStreamReader(process.getInputStream(),
            StandardCharsets.UTF_8));
         PrintWriter out = new PrintWriter(Files.newBufferedWriter(log, StandardCharsets.UTF_8), true)) {
      String line;
      while ((line = lines.readLine()) != null) {
        out.println(line);
        if (line.startsWith(UP)) {
          up.complete(line.substring(UP.length()));
        }
      }
    } catch (IOException e) {
      // the stream ends with the process
    } finally {
      up.completeExceptionally(new IllegalStateException("node process ended before it was up"));
    }
  }

  /**
   * A port that is free now and outside the kernel's ephemeral range (32768–60999 on Linux by default), so
   * an outgoing connection of this or another test cannot take it before a node binds it — tests choose
   * ports up front and may bind them again after a restart.
   */
  public static int freePort() {
    for (int attempt = 0; attempt < 200; attempt++) {
      int candidate = ThreadLocalRandom.current().nextInt(20_000, 32_000);
      try (ServerSocket socket = new ServerSocket(candidate, 1, InetAddress.getLoopbackAddress())) {
        return socket.getLocalPort();
      } catch (IOException taken) {
        // try another
      }
    }
    throw new UncheckedIOException(new IOException("no free port between 20000 and 32000"));
  }
}
