package io.parley.bench;

import io.parley.protocol.FrameCodec;
import io.parley.protocol.ServerFrame;
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
  /** Sockets opening (upgrade, hello, welcome) at once. */
  private static final int CONCURRENT_CONNECTS = 64;
  /** A create answered {@code unavailable} (a node busy with a burst of creations) is retried this often. */
  private static final int CREATE_ATTEMPTS = 10;
  private static final Duration CREATE_FIRST_BACKOFF = Duration.ofMillis(200);
  private static final Duration CREATE_MAX_BACKOFF = Duration.ofSeconds(3);
  private static final Duration SETUP_TIMEOUT = Duration.ofSeconds(60);
  private static final Duration ACK_FLUSH_EVERY = Duration.ofMillis(50);
  private static final Duration PROGRESS_EVERY = Duration.ofSeconds(5);

  private final BenchPlan plan;
  private final PrintStream out;
  private final BenchMetrics metrics = new BenchMetrics();
  private final FrameCodec codec = new FrameCodec();
  private final AtomicInteger createRetries = new AtomicInteger();
  private Setup setup = new Setup(0, 0, 0, 0);

  /** How long the set-up phases took, and how many creates were retried. */
  record Setup(double loginSeconds, double connectSeconds, double createSeconds, int createRetries) {}

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
    BenchTransport transport = new BenchTransport(plan.url(), plan.clientsPerAddress(), plan.threads());
    List<BenchClient> clients = List.of();
    Optional<ServerProbe> server = Optional.empty();
    try {
      if (plan.perUserRate() > BenchPlan.SUSTAINED_SEND_LIMIT_PER_SECOND) {
        say("warning: %.1f msg/s per user is above the default sustained send limit (%.0f/s): a node with rate"
            + " limits on will refuse some sends", plan.perUserRate(), BenchPlan.SUSTAINED_SEND_LIMIT_PER_SECOND);
      }
      String run = Long.toString(ThreadLocalRandom.current().nextLong(1L << 40), 36);
      List<DevLogin.Account> accounts = login(http, keys, run);
      clients = connect(transport, accounts);
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
      transport.close();
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
    double took = seconds(System.nanoTime() - started);
    setup = new Setup(took, 0, 0, 0);
    say("logged in %d users in %.1f s (%d at a time)", accounts.size(), took, DevLogin.CONCURRENT_REQUESTS);
    return accounts;
  }

  private List<BenchClient> connect(BenchTransport transport, List<DevLogin.Account> accounts) {
    long started = System.nanoTime();
    Payload payload = new Payload(plan.payloadBytes());
    Semaphore permits = new Semaphore(CONCURRENT_CONNECTS);
    List<CompletableFuture<BenchClient>> connecting = new ArrayList<>(accounts.size());
    for (int i = 0; i < accounts.size(); i++) {
      permits.acquireUninterruptibly();
      connecting.add(BenchClient.connect(transport, plan.webSocketUri(), i, accounts.get(i), metrics, codec, payload,
          plan.ackEvery(), plan.encrypt()).whenComplete((client, failure) -> permits.release()));
    }
    List<BenchClient> clients = connecting.stream().map(CompletableFuture::join).toList();
    double took = seconds(System.nanoTime() - started);
    setup = new Setup(setup.loginSeconds(), took, 0, 0);
    say("connected %d WebSockets (hello to welcome) in %.1f s, %,.0f a second, from %d source address%s",
        clients.size(), took, clients.size() / took, transport.addressesFor(clients.size()),
        transport.addressesFor(clients.size()) == 1 ? "" : "es");
    return clients;
  }

  /**
   * Conversation k has clients k, k + c, k + 2c, … (c conversations); its first member creates it, all at
   * once. A create answered {@code unavailable} is retried with backoff (and counted).
   */
  private List<BenchConversation> createConversations(String run, List<BenchClient> clients)
      throws InterruptedException {
    long started = System.nanoTime();
    int count = plan.conversations();
    List<BenchConversation> conversations = new ArrayList<>(count);
    for (int k = 0; k < count; k++) {
      List<BenchClient> members = new ArrayList<>(plan.groupSize());
      for (int j = 0; j < plan.groupSize(); j++) {
        members.add(clients.get(k + j * count));
      }
      conversations.add(new BenchConversation("bench-" + run + "-" + k, members));
    }
    CompletableFuture.allOf(conversations.stream().map(c -> create(c.creator(), 1, CREATE_FIRST_BACKOFF))
            .toArray(CompletableFuture[]::new))
        .orTimeout(SETUP_TIMEOUT.toMillis() * 2, TimeUnit.MILLISECONDS).join();
    if (!await(() -> conversations.stream().allMatch(BenchConversation::allJoined), SETUP_TIMEOUT)) {
      throw new IllegalStateException("not every device saw its conversation being created");
    }
    double took = seconds(System.nanoTime() - started);
    setup = new Setup(setup.loginSeconds(), setup.connectSeconds(), took, createRetries.get());
    say("created %d conversations of %d in %.1f s (%d creates retried after unavailable)", count,
        plan.groupSize(), took, createRetries.get());
    return conversations;
  }

  private CompletableFuture<Void> create(BenchClient creator, int attempt, Duration backoff) {
    return creator.create(attempt).thenCompose(answer -> {
      if (answer instanceof ServerFrame.Created) {
        return CompletableFuture.completedFuture(null);
      }
      String code = ((ServerFrame.Error) answer).code();
      if (!code.equals("unavailable") || attempt >= CREATE_ATTEMPTS) {
        throw new IllegalStateException("create failed: " + code + " (attempt " + attempt + ")");
      }
      createRetries.incrementAndGet();
      long jittered = backoff.toMillis() / 2 + ThreadLocalRandom.current().nextLong(backoff.toMillis() / 2 + 1);
      Duration doubled = backoff.multipliedBy(2);
      Duration next = doubled.compareTo(CREATE_MAX_BACKOFF) > 0 ? CREATE_MAX_BACKOFF : doubled;
      return CompletableFuture.runAsync(() -> { },
              CompletableFuture.delayedExecutor(jittered, TimeUnit.MILLISECONDS))
          .thenCompose(waited -> create(creator, attempt + 1, next));
    });
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

    // the members of a conversation are c clients apart, so in plain order their sends are spread over a round
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
    // a seq missing below one the device has seen is a gap; missing above all it has seen, lost
    long skipped = clients.stream().mapToLong(c -> c.check().gaps()).sum();
    long missing = Math.max(0, conversations.stream().mapToLong(BenchConversation::missing).sum() - skipped);
    long repeated = clients.stream().mapToLong(c -> c.check().repeated()).sum();
    return new BenchResult(plan, seconds(windowNanos), metrics.sentMeasured.sum(), metrics.acked.sum(),
        metrics.sent.sum(), metrics.deliveredMeasured.sum(), metrics.deliveredInWindow.sum(), endToEnd, ack,
        metrics.duplicateAcks.sum(), metrics.sendRetries.sum(), unanswered(), missing, skipped, repeated,
        metrics.errors(), metrics.transportFailures.sum(), drainSeconds, server.map(ServerProbe::usage), host, encryption, setup);
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
