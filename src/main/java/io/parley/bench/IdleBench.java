package io.parley.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.parley.protocol.ClientFrame;
import io.parley.protocol.FrameCodec;
import io.parley.protocol.ServerFrame;
import java.io.IOException;
import java.io.PrintStream;
import java.net.InetAddress;
import java.net.URI;
import java.net.UnknownHostException;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLongArray;

/**
 * {@code parley bench-idle}: logs N users in, opens their N WebSockets at once from several loopback source
 * addresses (hello to welcome timed per socket), holds them idle while measuring the node's CPU, then its
 * live heap after a full GC and its RSS per connection; then has pairs of them create conversations all at
 * once, and finally drops every socket at once.
 */
final class IdleBench implements IdleSockets.Listener {

  /** What the run is told: see {@link IdleBenchCommand}. */
  record Plan(URI ws, int connections, int sources, int firstSource, String handlePrefix, Duration afterLogin,
              Duration settle, Duration hold, int creates, boolean pings, long serverPid, URI metrics) {}

  private static final ObjectMapper JSON = new ObjectMapper();
  private static final int LOGIN_CONCURRENCY = 32;
  private static final Duration WAIT = Duration.ofMinutes(5);
  /** A socket not welcomed within this time of the burst's start counts as not connected. */
  private static final Duration BURST_WAIT = Duration.ofSeconds(60);
  /** As the client SDK does: a protocol ping every heartbeat interval the welcome names (25 s). */
  private static final int PING_EVERY_SECONDS = 25;

  private final Plan plan;
  private final PrintStream out;
  private final FrameCodec codec = new FrameCodec();
  private final NodeMeter node;
  private final IdleSockets.Socket[] sockets;
  private final AtomicLongArray openedAt;
  private final AtomicLongArray welcomedAt;
  private final AtomicInteger welcomed = new AtomicInteger();
  private final AtomicInteger closed = new AtomicInteger();
  private final Map<String, AtomicInteger> closeReasons = new ConcurrentHashMap<>();
  private final Map<String, CompletableFuture<ServerFrame>> requests = new ConcurrentHashMap<>();
  private volatile boolean dropping;

  IdleBench(Plan plan, PrintStream out) {
    this.plan = plan;
    this.out = out;
    this.node = new NodeMeter(plan.serverPid());
    this.sockets = new IdleSockets.Socket[plan.connections()];
    this.openedAt = new AtomicLongArray(plan.connections());
    this.welcomedAt = new AtomicLongArray(plan.connections());
  }

  void run() throws Exception {
    HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();
    URI base = URI.create("http://" + plan.ws().getHost() + ":" + plan.ws().getPort());
    long t = System.nanoTime();
    List<String> tokens = loginAll(http, base);
    out.printf("logged in %d users with published keys in %.1f s%n", tokens.size(), seconds(System.nanoTime() - t));
    await(plan.afterLogin());

    double heapBefore = node.liveHeapMibAfterFullGc();
    double rssBefore = node.rssMib();
    out.printf("node before connecting: live heap %.1f MiB after full GC, RSS %.1f MiB%n", heapBefore, rssBefore);

    try (IdleSockets pool = new IdleSockets(plan.ws(), this)) {
      burst(pool, tokens);
      ScheduledExecutorService pinger = Executors.newSingleThreadScheduledExecutor();
      if (plan.pings()) {
        pingEvery(pool, pinger, PING_EVERY_SECONDS);
      }
      await(plan.settle());
      HostProbe.Snapshot hostStart = HostProbe.take();
      double cpuStart = node.cpuSeconds();
      long holdStart = System.nanoTime();
      await(plan.hold());
      double cpu = node.cpuSeconds() - cpuStart;
      double wall = seconds(System.nanoTime() - holdStart);
      HostProbe.Usage host = HostProbe.between(hostStart, HostProbe.take());
      int open = open();
      double heapAfter = node.liveHeapMibAfterFullGc();
      double rssAfter = node.rssMib();
      out.printf("held %d open connections for %.0f s (%d closed meanwhile)%n", open, wall, closed.get());
      out.printf("node CPU while idle: %.3f cores (%.4f cores per 1,000 connections)%n", cpu / wall,
          cpu / wall / open * 1000);
      out.printf("machine: %.2f of %d cores busy; this bench %.2f cores; so other processes %.2f cores"
              + " (load %.2f -> %.2f)%n", host.busyCores(), host.cores(), host.benchCores(),
          host.busyCores() - host.benchCores() - cpu / wall, host.loadAtStart(), host.loadAtEnd());
      out.printf("node after: live heap %.1f MiB after full GC, RSS %.1f MiB%n", heapAfter, rssAfter);
      out.printf("per idle connection: %.1f KiB live heap, %.1f KiB RSS%n",
          (heapAfter - heapBefore) * 1024 / open, (rssAfter - rssBefore) * 1024 / open);
      pinger.shutdownNow();
      if (plan.creates() > 0) {
        createAll(pool);
      }
      dropAll(pool);
    }
  }

  // ---- login ----

  private List<String> loginAll(HttpClient http, URI base) {
    String keySet = BenchDevice.generate(BenchKeys.ONE_TIME_PREKEYS).keySet().toString();
    Semaphore permits = new Semaphore(LOGIN_CONCURRENCY);
    List<CompletableFuture<String>> logins = new ArrayList<>(plan.connections());
    for (int i = 0; i < plan.connections(); i++) {
      permits.acquireUninterruptibly();
      logins.add(login(http, base, plan.handlePrefix() + i, keySet)
          .whenComplete((token, failure) -> permits.release()));
    }
    return logins.stream().map(CompletableFuture::join).toList();
  }

  private CompletableFuture<String> login(HttpClient http, URI base, String handle, String keySet) {
    HttpRequest token = HttpRequest.newBuilder(base.resolve("/v1/dev/token")).timeout(Duration.ofSeconds(60))
        .header("Content-Type", "application/json")
        .POST(HttpRequest.BodyPublishers.ofString(JSON.createObjectNode().put("handle", handle).toString()))
        .build();
    return http.sendAsync(token, HttpResponse.BodyHandlers.ofString()).thenCompose(response -> {
      if (response.statusCode() != 200) {
        throw new IllegalStateException("dev token endpoint answered HTTP " + response.statusCode()
            + " (is the node running the embedded profile with dev tokens on?)");
      }
      String bearer = field(response.body(), "token");
      // every bench user publishes the same (valid, signed) key set: generating one per user would make
      // the bench, not the node, the bottleneck of the login phase
      HttpRequest keys = HttpRequest.newBuilder(base.resolve("/v1/keys/devices/" + BenchClient.DEVICE))
          .timeout(Duration.ofSeconds(60))
          .header("Content-Type", "application/json")
          .header("Authorization", "Bearer " + bearer)
          .PUT(HttpRequest.BodyPublishers.ofString(keySet))
          .build();
      return http.sendAsync(keys, HttpResponse.BodyHandlers.ofString()).thenApply(published -> {
        if (published.statusCode() != 200) {
          throw new IllegalStateException("key directory answered HTTP " + published.statusCode());
        }
        return bearer;
      });
    });
  }

  // ---- the connect burst ----

  private void burst(IdleSockets pool, List<String> tokens) throws UnknownHostException {
    InetAddress[] sources = new InetAddress[plan.sources()];
    for (int s = 0; s < sources.length; s++) {
      sources[s] = InetAddress.getByName("127.0.0." + (plan.firstSource() + s));
    }
    HostProbe.Snapshot hostStart = HostProbe.take();
    double cpuStart = node.cpuSeconds();
    long start = System.nanoTime();
    for (int i = 0; i < tokens.size(); i++) {
      openedAt.set(i, System.nanoTime());
      pool.open(i, sources[i % sources.length], codec.encodeClient(new ClientFrame.Hello(tokens.get(i),
          BenchClient.DEVICE, Map.of())));
    }
    long deadline = System.nanoTime() + BURST_WAIT.toNanos();
    while (welcomed.get() + closed.get() < tokens.size() && System.nanoTime() < deadline) {
      pause(50);
    }
    double cpu = node.cpuSeconds() - cpuStart;
    double burstWall = seconds(System.nanoTime() - start);
    HostProbe.Usage host = HostProbe.between(hostStart, HostProbe.take());
    long last = 0;
    long[] latencies = new long[welcomed.get()];
    int k = 0;
    for (int i = 0; i < tokens.size() && k < latencies.length; i++) {
      long at = welcomedAt.get(i);
      if (at != 0) {
        last = Math.max(last, at);
        latencies[k++] = at - openedAt.get(i);
      }
    }
    Arrays.sort(latencies, 0, k);
    double span = seconds(last - start);
    out.printf("connect burst: %d of %d welcomed in %.2f s = %.0f connects/s (hello to welcome);"
            + " latency p50 %.0f ms, p99 %.0f ms, max %.0f ms; %d failed %s%n",
        k, tokens.size(), span, k / span, millis(latencies, k, 0.50), millis(latencies, k, 0.99),
        millis(latencies, k, 1.0), closed.get(), new TreeMap<>(closeReasons));
    if (k + closed.get() < tokens.size()) {
      out.printf("  %d sockets neither welcomed nor closed within %d s%n", tokens.size() - k - closed.get(),
          BURST_WAIT.toSeconds());
    }
    out.printf("node CPU during the burst: %.1f core-seconds = %.2f ms per welcomed connect; other processes %.2f"
            + " of %d cores%n", cpu, k == 0 ? 0 : cpu * 1000 / k,
        host.busyCores() - host.benchCores() - cpu / burstWall, host.cores());
  }

  private void pingEvery(IdleSockets pool, ScheduledExecutorService pinger, int seconds) {
    AtomicInteger tick = new AtomicInteger();
    pinger.scheduleAtFixedRate(() -> {
      int slot = tick.getAndIncrement() % seconds;
      for (int i = slot; i < sockets.length; i += seconds) {
        IdleSockets.Socket socket = sockets[i];
        if (socket != null && socket.isOpen()) {
          pool.send(socket, codec.encodeClient(new ClientFrame.Ping("p" + i)));
        }
      }
    }, 1, 1, TimeUnit.SECONDS);
  }

  // ---- creations at once ----

  private void createAll(IdleSockets pool) {
    List<CompletableFuture<ServerFrame>> answers = new ArrayList<>();
    long start = System.nanoTime();
    String run = Long.toString(System.currentTimeMillis(), 36);
    for (int pair = 0; pair < plan.creates() && 2 * pair + 1 < sockets.length; pair++) {
      IdleSockets.Socket creator = sockets[2 * pair];
      String peer = accountOf(2 * pair + 1);
      if (creator == null || !creator.isOpen() || peer == null) {
        continue;
      }
      String requestId = "c" + pair;
      CompletableFuture<ServerFrame> answer = new CompletableFuture<>();
      requests.put(requestId, answer);
      answers.add(answer.orTimeout(WAIT.toMillis(), TimeUnit.MILLISECONDS));
      pool.send(creator, codec.encodeClient(new ClientFrame.Create(requestId, "idle-" + run + "-" + pair,
          List.of(peer))));
    }
    Map<String, Integer> outcomes = new TreeMap<>();
    for (CompletableFuture<ServerFrame> answer : answers) {
      String outcome;
      try {
        ServerFrame frame = answer.join();
        outcome = frame instanceof ServerFrame.Error error ? "error " + error.code() : "created";
      } catch (RuntimeException e) {
        outcome = "no answer";
      }
      outcomes.merge(outcome, 1, Integer::sum);
    }
    out.printf("%d conversation creations sent at once: %s in %.2f s%n", answers.size(), outcomes,
        seconds(System.nanoTime() - start));
  }

  // ---- the mass disconnect ----

  private void dropAll(IdleSockets pool) throws IOException, InterruptedException {
    double before = presenceFailures();
    dropping = true;
    int open = open();
    for (IdleSockets.Socket socket : sockets) {
      if (socket != null && socket.isOpen()) {
        pool.drop(socket);
      }
    }
    out.printf("dropped %d sockets at once%n", open);
    if (plan.metrics() != null) {
      // the node's metrics refresh on their tick; give the leaves and two ticks time
      await(Duration.ofSeconds(25));
      out.printf("presence updates Redis did not take (parley_presence_redis_failures_total): %.0f%n",
          presenceFailures() - before);
    }
  }

  private double presenceFailures() throws IOException, InterruptedException {
    if (plan.metrics() == null) {
      return 0;
    }
    HttpResponse<String> response = HttpClient.newHttpClient().send(HttpRequest.newBuilder(plan.metrics()).build(),
        HttpResponse.BodyHandlers.ofString());
    return response.body().lines()
        .filter(line -> line.startsWith("parley_presence_redis_failures"))
        .mapToDouble(line -> Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1)))
        .sum();
  }

  // ---- what the sockets hear ----

  private final Map<Integer, String> accountIds = new ConcurrentHashMap<>();
  /** The last error or close frame of each socket, to say why it closed. */
  private final Map<Integer, String> lastWords = new ConcurrentHashMap<>();

  private String accountOf(int index) {
    return accountIds.get(index);
  }

  @Override
  public void onText(IdleSockets.Socket socket, String text) {
    if (text.contains("\"welcome\"")) {
      ServerFrame frame = codec.decodeServer(text);
      if (frame instanceof ServerFrame.Welcome welcome) {
        sockets[socket.id] = socket;
        accountIds.put(socket.id, welcome.user());
        welcomedAt.set(socket.id, System.nanoTime());
        welcomed.incrementAndGet();
      }
      return;
    }
    if (text.startsWith("{\"type\":\"close\"") || text.contains("\"code\"") && !text.contains("\"requestId\"")) {
      lastWords.put(socket.id, text.length() > 80 ? text.substring(0, 80) : text);
    }
    if (text.contains("\"requestId\"")) {
      ServerFrame frame = codec.decodeServer(text);
      String requestId = frame instanceof ServerFrame.Created created ? created.requestId()
          : frame instanceof ServerFrame.Error error ? error.requestId() : null;
      CompletableFuture<ServerFrame> waiting = requestId == null ? null : requests.remove(requestId);
      if (waiting != null) {
        waiting.complete(frame);
      }
    }
  }

  @Override
  public void onClosed(IdleSockets.Socket socket, String why) {
    if (dropping) {
      return;
    }
    closed.incrementAndGet();
    String said = lastWords.remove(socket.id);
    if (said != null) {
      why = why + " after " + said.replaceAll("\"(message|retryAfterMs)\":(\"[^\"]*\"|[0-9]+),?", "");
    }
    closeReasons.computeIfAbsent(why, w -> new AtomicInteger()).incrementAndGet();
  }

  private int open() {
    int open = 0;
    for (IdleSockets.Socket socket : sockets) {
      if (socket != null && socket.isOpen()) {
        open++;
      }
    }
    return open;
  }

  private static String field(String json, String name) {
    try {
      JsonNode node = JSON.readTree(json).get(name);
      return node.asText();
    } catch (IOException e) {
      throw new IllegalStateException("unexpected answer: " + e.getMessage(), e);
    }
  }

  private static double millis(long[] sorted, int n, double quantile) {
    if (n == 0) {
      return Double.NaN;
    }
    int rank = Math.max(0, Math.min(n - 1, (int) Math.ceil(quantile * n) - 1));
    return sorted[rank] / 1e6;
  }

  private static double seconds(long nanos) {
    return nanos / 1e9;
  }

  private static void await(Duration duration) {
    pause(duration.toMillis());
  }

  private static void pause(long millis) {
    try {
      Thread.sleep(millis);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted", e);
    }
  }
}
