package io.parley.bench;

import io.parley.protocol.FrameCodec;
import java.io.PrintStream;
import java.net.http.HttpClient;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.Semaphore;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BooleanSupplier;
import org.HdrHistogram.Histogram;

/**
 * One bench run, phase by phase: log every user in, connect and say hello, create the conversations,
 * send on the open-loop schedule (warm-up, then the measured window), wait for what is still in flight,
 * and collect the numbers.
 */
final class Bench {
  private static final int CONCURRENT_CONNECTS = 32;
  private static final Duration SETUP_TIMEOUT = Duration.ofSeconds(60);
  private static final Duration ACK_FLUSH_EVERY = Duration.ofMillis(50);
  private static final Duration PROGRESS_EVERY = Duration.ofSeconds(5);

  private final BenchPlan plan;
  private final PrintStream out;
  private final BenchMetrics metrics = new BenchMetrics();
  private final FrameCodec codec = new FrameCodec();

  Bench(BenchPlan plan, PrintStream out) {
    this.plan = plan;
    this.out = out;
  }

  BenchResult run() throws InterruptedException {
    AtomicInteger threadNumber = new AtomicInteger();
    ExecutorService io = Executors.newFixedThreadPool(plan.threads(), r -> {
      Thread t = new Thread(r, "bench-io-" + threadNumber.incrementAndGet());
      t.setDaemon(true);
      return t;
    });
    ScheduledExecutorService ticker = Executors.newSingleThreadScheduledExecutor(r -> {
      Thread t = new Thread(r, "bench-ticker");
      t.setDaemon(true);
      return t;
    });
    HttpClient http = HttpClient.newBuilder().executor(io).connectTimeout(Duration.ofSeconds(10)).build();
    List<BenchClient> clients = List.of();
    Optional<ServerProbe> server = Optional.empty();
    try {
      String run = Long.toString(ThreadLocalRandom.current().nextLong(1L << 40), 36);
      List<DevLogin.Account> accounts = login(http, run);
      clients = connect(http, accounts);
      List<BenchConversation> conversations = createConversations(run, clients);
      server = plan.serverPid().isPresent()
          ? Optional.of(ServerProbe.attach(plan.serverPid().getAsLong()))
          : Optional.empty();
      return measure(clients, conversations, server, ticker);
    } finally {
      ticker.shutdownNow();
      server.ifPresent(ServerProbe::close);
      clients.forEach(BenchClient::close);
      clients.forEach(BenchClient::abort);
      io.shutdownNow();
    }
  }

  private List<DevLogin.Account> login(HttpClient http, String run) {
    long started = System.nanoTime();
    List<String> handles = new ArrayList<>(plan.clients());
    for (int i = 0; i < plan.clients(); i++) {
      handles.add("bench-" + run + "-" + i);
    }
    List<DevLogin.Account> accounts = new DevLogin(http, plan.devTokenUri()).loginAll(handles);
    say("logged in %d users in %.1f s", accounts.size(), seconds(System.nanoTime() - started));
    return accounts;
  }

  private List<BenchClient> connect(HttpClient http, List<DevLogin.Account> accounts) {
    long started = System.nanoTime();
    Payload payload = new Payload(plan.payloadBytes());
    Semaphore permits = new Semaphore(CONCURRENT_CONNECTS);
    List<CompletableFuture<BenchClient>> connecting = new ArrayList<>(accounts.size());
    for (int i = 0; i < accounts.size(); i++) {
      permits.acquireUninterruptibly();
      connecting.add(BenchClient.connect(http, plan.webSocketUri(), i, accounts.get(i), metrics, codec, payload,
          plan.ackEvery()).whenComplete((client, failure) -> permits.release()));
    }
    List<BenchClient> clients = connecting.stream().map(CompletableFuture::join).toList();
    say("connected %d WebSockets in %.1f s", clients.size(), seconds(System.nanoTime() - started));
    return clients;
  }

  /** Client i and client i + n/2 share a conversation; the first of them creates it. */
  private List<BenchConversation> createConversations(String run, List<BenchClient> clients)
      throws InterruptedException {
    long started = System.nanoTime();
    int pairs = plan.conversations();
    List<BenchConversation> conversations = new ArrayList<>(pairs);
    for (int i = 0; i < pairs; i++) {
      conversations.add(new BenchConversation("bench-" + run + "-" + i, clients.get(i), clients.get(i + pairs)));
    }
    CompletableFuture.allOf(conversations.stream().map(c -> c.creator().create()).toArray(CompletableFuture[]::new))
        .orTimeout(SETUP_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS).join();
    if (!await(() -> conversations.stream().allMatch(BenchConversation::bothJoined), SETUP_TIMEOUT)) {
      throw new IllegalStateException("not every device saw its conversation being created");
    }
    say("created %d conversations in %.1f s", pairs, seconds(System.nanoTime() - started));
    return conversations;
  }

  private BenchResult measure(List<BenchClient> clients, List<BenchConversation> conversations,
                              Optional<ServerProbe> server, ScheduledExecutorService ticker)
      throws InterruptedException {
    long warmupCount = plan.warmupMessages();
    long total = warmupCount + plan.measuredMessages();
    long start = metrics.now() + TimeUnit.MILLISECONDS.toNanos(200);
    long measureFrom = start + plan.dueNanos(warmupCount);
    long measureTo = start + plan.dueNanos(total);
    metrics.measureWindow(measureFrom, measureTo);
    if (plan.ackEvery() > 1) {
      ticker.scheduleAtFixedRate(() -> clients.forEach(BenchClient::flushAcks),
          ACK_FLUSH_EVERY.toMillis(), ACK_FLUSH_EVERY.toMillis(), TimeUnit.MILLISECONDS);
    }
    Progress progress = new Progress(clients, start, measureFrom);
    ticker.scheduleAtFixedRate(progress::print, PROGRESS_EVERY.toMillis(), PROGRESS_EVERY.toMillis(),
        TimeUnit.MILLISECONDS);
    say("sending %,.0f msg/s: %d s warm-up, then %d s measured", plan.rate(), plan.warmup().toSeconds(),
        plan.duration().toSeconds());

    // clients i and i + n/2 are a pair, so in plain order a pair's two senders are half a round apart
    OpenLoopDriver driver = new OpenLoopDriver(plan, clients, metrics);
    HostProbe.Snapshot[] hostAtStart = new HostProbe.Snapshot[1];
    driver.run(start, total, warmupCount, () -> {
      server.ifPresent(ServerProbe::markStart);
      hostAtStart[0] = HostProbe.take();
    });
    driver.sleepUntil(measureTo);
    server.ifPresent(ServerProbe::markEnd);
    HostProbe.Usage host = HostProbe.between(hostAtStart[0], HostProbe.take());

    long drainStarted = System.nanoTime();
    boolean settled = await(() -> {
      clients.forEach(BenchClient::flushAcks);
      return unanswered() == 0 && conversations.stream().allMatch(c -> c.missing() == 0);
    }, plan.drainTimeout());
    double drainSeconds = seconds(System.nanoTime() - drainStarted);
    if (!settled) {
      say("still not settled after %.0f s: counting what is missing as lost", drainSeconds);
    }
    return result(clients, conversations, server, host, measureTo - measureFrom, drainSeconds);
  }

  private BenchResult result(List<BenchClient> clients, List<BenchConversation> conversations,
                             Optional<ServerProbe> server, HostProbe.Usage host, long windowNanos,
                             double drainSeconds) {
    Histogram endToEnd = metrics.endToEndHistogram();
    Histogram ack = metrics.ackHistogram();
    long missing = conversations.stream().mapToLong(BenchConversation::missing).sum();
    long skipped = clients.stream().mapToLong(c -> c.check().skipped()).sum();
    long repeated = clients.stream().mapToLong(c -> c.check().repeated()).sum();
    return new BenchResult(plan, seconds(windowNanos), metrics.sentMeasured.sum(), metrics.acked.sum(),
        metrics.sent.sum(), metrics.deliveredMeasured.sum(), metrics.deliveredInWindow.sum(), endToEnd, ack,
        metrics.duplicateAcks.sum(), unanswered(), missing, skipped, repeated, metrics.errors(),
        metrics.transportFailures.sum(), drainSeconds, server.map(ServerProbe::usage), host);
  }

  private long unanswered() {
    return metrics.sent.sum() - metrics.acked.sum() - metrics.sendErrors.sum();
  }

  private static boolean await(BooleanSupplier condition, Duration timeout) throws InterruptedException {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() > deadline) {
        return false;
      }
      Thread.sleep(50);
    }
    return true;
  }

  private void say(String format, Object... args) {
    out.println(String.format(Locale.ROOT, format, args));
    out.flush();
  }

  private static double seconds(long nanos) {
    return nanos / 1e9;
  }

  /** A line every few seconds while sending: rates and latency over the last interval. */
  private final class Progress {
    private final List<BenchClient> clients;
    private final long start;
    private final long measureFrom;
    private long lastAt;
    private long lastSent;

    Progress(List<BenchClient> clients, long start, long measureFrom) {
      this.clients = clients;
      this.start = start;
      this.measureFrom = measureFrom;
      this.lastAt = start;
    }

    void print() {
      long now = metrics.now();
      long sent = metrics.sent.sum();
      Histogram interval = metrics.progressInterval();
      double seconds = seconds(now - lastAt);
      int backlog = clients.stream().mapToInt(BenchClient::backlog).sum();
      say("%6.1f s %-9s sent %,8.0f/s  delivered %,8.0f/s  e2e p50 %6.1f ms  p99 %7.1f ms  max %7.1f ms"
              + "  awaiting ack %,d  client backlog %,d",
          seconds(now - start), now < measureFrom ? "warm-up" : "measured", (sent - lastSent) / seconds,
          interval.getTotalCount() / seconds, ms(interval.getValueAtPercentile(50)),
          ms(interval.getValueAtPercentile(99)), ms(interval.getMaxValue()), unanswered(), backlog);
      lastAt = now;
      lastSent = sent;
    }
  }

  static double ms(long micros) {
    return micros / 1000.0;
  }
}
