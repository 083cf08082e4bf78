package io.parley.cluster;

import io.parley.Main;
import io.parley.store.StandaloneStores;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.stream.Collectors;
import java.util.stream.IntStream;

/**
 * A Parley cluster of several node processes on one machine, for development: the shared stores run in
 * this process ({@link StandaloneStores}), each node is a child JVM running {@code parley server} with
 * its own HTTP, management and remoting ports, the first two nodes as seed nodes, and the stores' URIs
 * and one shared data dir (dev token key, identity pepper) in its environment.
 *
 * <p>A node that exits while the cluster runs (after its first 30 s) is started again on the same ports, so that
 * {@code kill <pid>} of one node after another is a rolling restart, and {@code kill -9} a crash.
 */
public final class LocalCluster implements AutoCloseable {
  private static final Duration MIN_UPTIME_FOR_RESTART = Duration.ofSeconds(30);

  /** Where node {@code i} (from 1) listens: each base port plus {@code i - 1}. */
  public record Options(int nodes, Path dataDir, int httpPort, int managementPort, int remotePort,
                        int mongodbPort, int redisPort, boolean inMemory, boolean restartOnExit,
                        List<String> jvmOptions) {
    public Options {
      if (nodes < 1) {
        throw new IllegalArgumentException("at least one node");
      }
      jvmOptions = List.copyOf(jvmOptions);
    }

    NodePorts ports(int index) {
      return new NodePorts(index, httpPort + index - 1, managementPort + index - 1, remotePort + index - 1);
    }
  }

  public record NodePorts(int index, int http, int management, int remote) {}

  /** One node: its ports and the process currently running it. */
  public final class Node {
    private final NodePorts ports;
    private volatile Process process;
    private volatile Instant startedAt;
    private volatile int starts;

    private Node(NodePorts ports) {
      this.ports = ports;
    }

    public NodePorts ports() {
      return ports;
    }

    public URI httpUri() {
      return URI.create("http://127.0.0.1:" + ports.http());
    }

    public long pid() {
      return process.pid();
    }

    public boolean isAlive() {
      return process.isAlive();
    }

    /** How many times this node has been started (1 until it exits and is started again). */
    public int starts() {
      return starts;
    }

    public Path log() {
      return dataDir().resolve("logs").resolve("node-" + ports.index() + ".log");
    }

    /** SIGKILL: no shutdown hook, no coordinated shutdown. */
    public void kill() {
      process.destroyForcibly();
    }

    /** SIGTERM: coordinated shutdown, as in a rolling deploy. */
    public void terminate() {
      process.destroy();
    }

    /** Whether the node's management endpoint answers {@code /ready} with 200. */
    public boolean isReady() {
      return managementGet("/ready").map(response -> response.statusCode() == 200).orElse(false);
    }

    /** The management endpoint's answer to {@code path}, if it answered at all. */
    public java.util.Optional<HttpResponse<String>> managementGet(String path) {
      try {
        return java.util.Optional.of(http.send(HttpRequest.newBuilder(
                URI.create("http://127.0.0.1:" + ports.management() + path)).timeout(Duration.ofSeconds(2)).build(),
            HttpResponse.BodyHandlers.ofString()));
      } catch (IOException e) {
        return java.util.Optional.empty();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return java.util.Optional.empty();
      }
    }

    private synchronized void start() {
      starts++;
      startedAt = Instant.now();
      process = launch(ports, log());
      Process started = process;
      started.onExit().thenRun(() -> exited(this, started));
    }
  }

  private final Options options;
  private final StandaloneStores stores;
  private final Consumer<String> out;
  private final List<Node> nodes = new ArrayList<>();
  private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
  private volatile boolean closing;

  private LocalCluster(Options options, StandaloneStores stores, Consumer<String> out) {
    this.options = options;
    this.stores = stores;
    this.out = out;
  }

  /** Starts the stores and every node process; see {@link #awaitReady} to wait for them. */
  public static LocalCluster start(Options options, Consumer<String> out) {
    try {
      Files.createDirectories(options.dataDir().resolve("logs"));
    } catch (IOException e) {
      throw new UncheckedIOException("cannot create " + options.dataDir(), e);
    }
    StandaloneStores stores = StandaloneStores.start(options.dataDir(), options.mongodbPort(), options.redisPort(),
        options.inMemory(), true);
    LocalCluster cluster = new LocalCluster(options, stores, out);
    try {
      IntStream.rangeClosed(1, options.nodes()).forEach(i -> cluster.nodes.add(cluster.new Node(options.ports(i))));
      cluster.nodes.forEach(Node::start);
      return cluster;
    } catch (RuntimeException e) {
      cluster.close();
      throw e;
    }
  }

  public List<Node> nodes() {
    return List.copyOf(nodes);
  }

  public Node node(int index) {
    return nodes.get(index - 1);
  }

  public StandaloneStores stores() {
    return stores;
  }

  public Path dataDir() {
    return options.dataDir();
  }

  /** Waits until every node answers {@code /ready}; throws with the unready nodes otherwise. */
  public void awaitReady(Duration timeout) throws InterruptedException {
    Instant deadline = Instant.now().plus(timeout);
    while (true) {
      List<Node> unready = nodes.stream().filter(node -> !node.isReady()).toList();
      if (unready.isEmpty()) {
        return;
      }
      if (Instant.now().isAfter(deadline)) {
        throw new IllegalStateException("not ready within " + timeout + ": node(s) "
            + unready.stream().map(node -> node.ports().index() + " (log " + node.log() + ")")
            .collect(Collectors.joining(", ")));
      }
      TimeUnit.MILLISECONDS.sleep(250);
    }
  }

  /** Terminates every node (coordinated shutdown, in parallel), then stops the stores. */
  @Override
  public void close() {
    closing = true;
    nodes.stream().filter(node -> node.process != null).forEach(Node::terminate);
    for (Node node : nodes) {
      if (node.process == null) {
        continue;
      }
      try {
        if (!node.process.waitFor(60, TimeUnit.SECONDS)) {
          node.kill();
          node.process.waitFor(10, TimeUnit.SECONDS);
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        node.kill();
      }
    }
    stores.close();
  }

  private void exited(Node node, Process process) {
    if (closing) {
      return;
    }
    // a node that fails at start-up (a port in use, a bad setting) would only fail again
    boolean restart = options.restartOnExit()
        && Duration.between(node.startedAt, Instant.now()).compareTo(MIN_UPTIME_FOR_RESTART) >= 0;
    out.accept(String.format("node %d (pid %d) exited with %d%s", node.ports().index(), process.pid(),
        process.exitValue(), restart ? "; starting it again" : "; see " + node.log()));
    if (restart) {
      node.start();
      out.accept(String.format("node %d started again as pid %d", node.ports().index(), node.pid()));
    }
  }

  private Process launch(NodePorts ports, Path log) {
    List<String> command = new ArrayList<>();
    command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    command.addAll(options.jvmOptions());
    command.add("-cp");
    command.add(System.getProperty("java.class.path"));
    command.add(Main.class.getName());
    command.add("server");
    ProcessBuilder builder = new ProcessBuilder(command)
        .redirectErrorStream(true)
        .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()));
    builder.environment().putAll(environment(ports));
    try {
      return builder.start();
    } catch (IOException e) {
      throw new UncheckedIOException("cannot start node " + ports.index(), e);
    }
  }

  /** The settings of one node, as the environment variables that {@code parley.conf} reads. */
  Map<String, String> environment(NodePorts ports) {
    String seeds = IntStream.rangeClosed(1, Math.min(2, options.nodes()))
        .mapToObj(i -> "127.0.0.1:" + options.ports(i).remote())
        .collect(Collectors.joining(","));
    return Map.of(
        "PARLEY_CLUSTER_FORMATION", "seeds",
        "PARLEY_SEED_NODES", seeds,
        "PARLEY_HTTP_PORT", Integer.toString(ports.http()),
        "PARLEY_MANAGEMENT_PORT", Integer.toString(ports.management()),
        "PARLEY_REMOTE_PORT", Integer.toString(ports.remote()),
        "PARLEY_MONGODB_URI", stores.mongodbUri(),
        "PARLEY_REDIS_URL", stores.redisUrl(),
        "PARLEY_DATA_DIR", options.dataDir().toAbsolutePath().toString());
  }
}
