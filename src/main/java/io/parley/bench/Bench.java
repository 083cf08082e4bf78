package io.parley.bench;

import io.parley.protocol.FrameCodec;
import java.io.PrintStream;
import java.net.http.HttpClient;
import java.time.Duration;
import io.parley.protocol.Envelope;
import java.util.ArrayList;
import java.util.IntSummaryStatistics;
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
    BenchKeys keys = new BenchKeys(http, plan.devTokenUri().resolve("/"));
    List<BenchClient> clients = List.of();
    Optional<ServerProbe> server = Optional.empty();
    try {
      String run = Long.toString(ThreadLocalRandom.current().nextLong(1L << 40), 36);
      List<DevLogin.Account> accounts = login(http, keys, run);
      clients = connect(http, accounts);
      List<BenchConversation> conversations = createConversations(run, clients);
      Optional<Sealing> sealing = plan.encrypt()
          ? Optional.of(encryptAhead(keys, clients, conversations))
          : Optional.empty();
      server = plan.serverPid().isPresent()
          ? Optional.of(ServerProbe.attach(plan.serverPid().getAsLong()))
          : Optional.empty();
      return measure(clients, conversations, server, ticker, sealing);
    } finally {
      ticker.shutdownNow();
      server.ifPresent(ServerProbe::close);
      clients.forEach(BenchClient::close);
      clients.forEach(BenchClient::abort);
      io.shutdownNow();
    }
  }

  private List<DevLogin.Account> login(HttpClient http, BenchKeys keys, String run) {
    long started = System.nanoTime();
    List<String> handles = new ArrayList<>(plan.clients());
    for (int i = 0; i < plan.clients(); i++) {
      handles.add("bench-" + run + "-" + i);
    }
    List<DevLogin.Account> accounts = new DevLogin(http, plan.devTokenUri(), keys).loginAll(handles);
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
          plan.ackEvery(), plan.encrypt()).whenComplete((client, failure) -> permits.release()));
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

  /** What pre-encryption produced, before sending starts. */
  private record Sealing(double setupSeconds, long messages, double seconds, Histogram encryptNanos,
                         IntSummaryStatistics whisperBytes, IntSummaryStatistics preKeyBytes) {}

  /**
   * Opens a Signal session in every conversation (the creator claims the invitee's bundle and sends a PreKey
   * message through the node, the invitee answers with a Whisper message), then encrypts every message each
   * client will send, in send order, on this thread.
   */
  private Sealing encryptAhead(BenchKeys keys, List<BenchClient> clients, List<BenchConversation> conversations) {
    long started = System.nanoTime();
    Semaphore permits = new Semaphore(CONCURRENT_CONNECTS);
    List<CompletableFuture<Void>> opening = new ArrayList<>(conversations.size());
    for (BenchConversation conversation : conversations) {
      permits.acquireUninterruptibly();
      opening.add(conversation.creator().openSession(keys).whenComplete((done, failure) -> permits.release()));
    }
    CompletableFuture.allOf(opening.toArray(CompletableFuture[]::new))
        .thenCompose(opened -> CompletableFuture.allOf(
            conversations.stream().map(c -> c.invitee().sessionReady()).toArray(CompletableFuture[]::new)))
        .orTimeout(SETUP_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS).join();
    double setupSeconds = seconds(System.nanoTime() - started);
    say("opened %d Signal sessions (PQXDH) in %.1f s", conversations.size(), setupSeconds);

    IntSummaryStatistics whisper = new IntSummaryStatistics();
    IntSummaryStatistics preKey = new IntSummaryStatistics();
    for (BenchClient client : clients) {
      BenchDevice.Sealed first = client.handshakeSent();
      (first.type() == Envelope.PREKEY ? preKey : whisper).accept(first.body().length);
    }
    Histogram encryptNanos = new Histogram(3);
    long messages = 0;
    started = System.nanoTime();
    for (int i = 0; i < clients.size(); i++) {
      PreEncrypted sealed;
      try {
        sealed = clients.get(i).preEncrypt(plan.messagesOf(i));
      } catch (Exception e) {
        throw new IllegalStateException("pre-encryption failed: " + e, e);
      }
      encryptNanos.add(sealed.encryptNanos());
      whisper.combine(sealed.whisperBytes());
      preKey.combine(sealed.preKeyBytes());
      messages += sealed.count();
    }
    double encryptSeconds = seconds(System.nanoTime() - started);
    say("encrypted %,d messages in %.1f s (%.0f us per message)", messages, encryptSeconds,
        encryptNanos.getMean() / 1e3);
    return new Sealing(setupSeconds, messages, encryptSeconds, encryptNanos, whisper, preKey);
  }

  private BenchResult.Encryption verifyDecryption(List<BenchClient> clients, Sealing sealing) {
    long started = System.nanoTime();
    DecryptionCheck.Outcome outcome = DecryptionCheck.Outcome.combine(
        clients.stream().map(BenchClient::verifyDecryption).toList());
    double seconds = seconds(System.nanoTime() - started);
    say("decrypted %,d deliveries in %.1f s: %,d failed", outcome.opened() + outcome.failed(), seconds,
        outcome.failed());
    return new BenchResult.Encryption(plan.payloadBytes(), sealing.setupSeconds(), sealing.messages(),
        sealing.seconds(), sealing.encryptNanos(), sealing.whisperBytes(), sealing.preKeyBytes(), outcome, seconds);
  }

  private BenchResult measure(List<BenchClient> clients, List<BenchConversation> conversations,
                              Optional<ServerProbe> server, ScheduledExecutorService ticker,
                              Optional<Sealing> sealing)
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
    OpenLoopDriver driver = new OpenLoopDriver(plan::dueNanos, metrics::now, clients.size(),
        (client, due) -> clients.get(client).sendMessage(due));
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
    Optional<BenchResult.Encryption> encryption = sealing.map(s -> verifyDecryption(clients, s));
    return result(clients, conversations, server, host, measureTo - measureFrom, drainSeconds, encryption);
  }

  private BenchResult result(List<BenchClient> clients, List<BenchConversation> conversations,
                             Optional<ServerProbe> server, HostProbe.Usage host, long windowNanos,
                             double drainSeconds, Optional<BenchResult.Encryption> encryption) {
    Histogram endToEnd = metrics.endToEndHistogram();
    Histogram ack = metrics.ackHistogram();
    long missing = conversations.stream().mapToLong(BenchConversation::missing).sum();
    long skipped = clients.stream().mapToLong(c -> c.check().skipped()).sum();
    long repeated = clients.stream().mapToLong(c -> c.check().repeated()).sum();
    return new BenchResult(plan, seconds(windowNanos), metrics.sentMeasured.sum(), metrics.acked.sum(),
        metrics.sent.sum(), metrics.deliveredMeasured.sum(), metrics.deliveredInWindow.sum(), endToEnd, ack,
        metrics.duplicateAcks.sum(), unanswered(), missing, skipped, repeated, metrics.errors(),
        metrics.transportFailures.sum(), drainSeconds, server.map(ServerProbe::usage), host, encryption);
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
