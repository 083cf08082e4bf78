package io.parley.bench;

import static io.parley.bench.BenchFormat.f;
import static io.parley.bench.BenchFormat.kv;
import static io.parley.bench.BenchFormat.ms;

import io.parley.client.AgentInfo;
import io.parley.client.DecryptedMessage;
import io.parley.client.DevAccount;
import io.parley.client.Listener;
import io.parley.client.ParleyClient;
import io.parley.client.ParleyClientException;
import io.parley.client.StoreKey;
import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.BooleanSupplier;
import java.util.stream.Stream;
import org.HdrHistogram.Histogram;

/**
 * Users chatting with one agent through a running node, end to end: each user is a real {@link ParleyClient}
 * (Signal sessions, device store in a temporary directory) in a conversation of its own with the agent. After
 * one priming message per user (it sets up the Signal sessions both ways and, through the front door, the
 * handoff), the users send on a fixed schedule (open loop: {@code rate} messages a second in all, in turn),
 * and every reply the agent's device sends back is decrypted at the user and matched to its message by text.
 * Everything to one agent passes one agent endpoint (one device, one client) in the node: this measures
 * that path, agent service included (the demo echo agent beside an embedded node).
 */
final class AgentBench {
  private static final Duration SETUP_TIMEOUT = Duration.ofSeconds(120);
  private static final Duration PROGRESS_EVERY = Duration.ofSeconds(5);

  record Plan(URI server, int users, String agent, double rate, Duration warmup, Duration duration, Duration drain,
              OptionalLong serverPid, String label) {
    Plan {
      if (users < 1) {
        throw new IllegalArgumentException("--users must be at least 1");
      }
      if (!(rate > 0)) {
        throw new IllegalArgumentException("--rate must be positive");
      }
      if (duration.isNegative() || duration.isZero()) {
        throw new IllegalArgumentException("--duration must be positive");
      }
      if (warmup.isNegative() || drain.isNegative()) {
        throw new IllegalArgumentException("--warmup and --drain-timeout must not be negative");
      }
    }

    long dueNanos(long n) {
      return OpenLoopDriver.dueNanos(rate, n);
    }

    /** Messages sent during the warm-up; they come first in the schedule. */
    long warmupMessages() {
      return (long) Math.ceil(warmup.toNanos() / 1e9 * rate);
    }

    long messages() {
      return (long) Math.ceil((warmup.toNanos() + duration.toNanos()) / 1e9 * rate);
    }
  }

  /** A finished run. */
  record Result(Plan plan, AgentInfo agent, AgentBenchStats.Counts counts, Histogram ack, Histogram roundTrip,
                double primeSeconds, Histogram primeRoundTrip, double drainSeconds, Map<String, Long> clientErrors,
                Optional<ServerProbe.Usage> server, HostProbe.Usage host) {
    boolean faulty() {
      return counts.missing() > 0 || counts.duplicates() > 0 || counts.unknown() > 0 || counts.sendFailures() > 0;
    }
  }

  private final Plan plan;
  private final PrintStream out;
  private final long origin = System.nanoTime();
  private final AgentBenchStats stats = new AgentBenchStats();
  private final Map<String, LongAdder> clientErrors = new ConcurrentHashMap<>();
  private final List<User> users = new ArrayList<>();
  private volatile String agentAccount = "";

  AgentBench(Plan plan, PrintStream out) {
    this.plan = plan;
    this.out = out;
  }

  private long now() {
    return System.nanoTime() - origin;
  }

  Result run() throws InterruptedException {
    Path stores = temporaryDirectory();
    HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();
    try (ServerProbe probe = plan.serverPid().isPresent() ? ServerProbe.attach(plan.serverPid().getAsLong()) : null) {
      String run = HexFormat.of().formatHex(randomBytes(4));
      start(http, stores, run);
      AgentInfo agent = findAgent();
      agentAccount = agent.accountId();
      createConversations(run);
      long primeStarted = now();
      Histogram primeRoundTrip = prime();
      double primeSeconds = (now() - primeStarted) / 1e9;

      long start = now() + TimeUnit.MILLISECONDS.toNanos(200);
      long windowFrom = start + plan.warmup().toNanos();
      long windowTo = windowFrom + plan.duration().toNanos();
      stats.measureWindow(windowFrom, windowTo);
      say("sending %,.0f msg/s for %d s (%d s warm-up) to %s", plan.rate(), plan.duration().toSeconds()
          + plan.warmup().toSeconds(), plan.warmup().toSeconds(), agent.id());
      HostProbe.Snapshot[] host = new HostProbe.Snapshot[2];
      Thread ticker = progress();
      try {
        OpenLoopDriver driver = new OpenLoopDriver(plan::dueNanos, this::now, users.size(), this::send);
        driver.run(start, plan.messages(), plan.warmupMessages(), () -> {
          host[0] = HostProbe.take();
          if (probe != null) {
            probe.markStart();
          }
        });
        driver.sleepUntil(windowTo);
        host[1] = HostProbe.take();
        if (probe != null) {
          probe.markEnd();
        }
        long drainStarted = now();
        boolean settled = await(() -> stats.outstanding() == 0 && stats.unanswered() == 0, plan.drain());
        double drainSeconds = (now() - drainStarted) / 1e9;
        if (!settled) {
          say("drain timeout: %,d replies and %,d acks still outstanding", stats.outstanding(), stats.unanswered());
        }
        Map<String, Long> errors = new TreeMap<>();
        clientErrors.forEach((kind, count) -> errors.put(kind, count.sum()));
        return new Result(plan, agent, stats.counts(), stats.ackHistogram(), stats.roundTripHistogram(),
            primeSeconds, primeRoundTrip, drainSeconds, errors,
            probe == null ? Optional.empty() : Optional.of(probe.usage()), HostProbe.between(host[0], host[1]));
      } finally {
        ticker.interrupt();
      }
    } finally {
      users.forEach(user -> {
        if (user.client != null) {
          user.client.close();
        }
      });
      deleteRecursively(stores);
    }
  }

  // ---- setup ----

  private void start(HttpClient http, Path stores, String run) {
    long started = now();
    List<CompletableFuture<Void>> starting = new ArrayList<>();
    for (int i = 0; i < plan.users(); i++) {
      User user = new User(i, "bench-agent-" + run + "-" + i);
      users.add(user);
      String handle = "bench-agent-" + run + "-" + i;
      starting.add(ParleyClient.devLogin(plan.server(), handle).thenCompose(account -> {
        user.client = ParleyClient.builder()
            .server(plan.server())
            .tokens(refresh -> refresh
                ? ParleyClient.devLogin(plan.server(), handle).thenApply(DevAccount::token)
                : CompletableFuture.completedFuture(account.token()))
            .device(1)
            .store(stores.resolve("user-" + user.index), StoreKey.raw(randomBytes(32)))
            .oneTimePreKeys(5)
            .httpClient(http)
            .listener(user)
            .build();
        return user.client.start();
      }));
    }
    join(starting, "starting the users' clients");
    say("%d users logged in and connected in %.1f s", plan.users(), (now() - started) / 1e9);
  }

  private AgentInfo findAgent() {
    List<AgentInfo> agents = users.get(0).client.agents().orTimeout(SETUP_TIMEOUT.toSeconds(), TimeUnit.SECONDS)
        .join();
    return agents.stream().filter(a -> a.id().equals(plan.agent())).findFirst()
        .orElseThrow(() -> new IllegalArgumentException("no agent '" + plan.agent() + "' on the node; it has: "
            + String.join(", ", agents.stream().map(AgentInfo::id).sorted().toList())));
  }

  private void createConversations(String run) {
    long started = now();
    join(users.stream().map(user -> user.client.createConversation(user.conversation, List.of(agentAccount))
        .thenApply(seq -> (Void) null)).toList(), "creating the conversations");
    say("created %d conversations with %s in %.1f s", users.size(), plan.agent(), (now() - started) / 1e9);
  }

  /**
   * One message per user, all at once, and every reply awaited: the first messages set up the Signal sessions
   * (a PreKey message each way) and make the front door hand each conversation to an agent.
   */
  private Histogram prime() throws InterruptedException {
    long started = now();
    Histogram latency = new Histogram(3);
    for (User user : users) {
      user.send(AgentReplies.text(user.index, 0), now());
    }
    if (!await(() -> stats.outstanding() == 0, SETUP_TIMEOUT)) {
      throw new IllegalStateException("the agent did not answer every first message within " + SETUP_TIMEOUT
          .toSeconds() + " s (" + stats.outstanding() + " without a reply)");
    }
    users.forEach(user -> latency.recordValue(TimeUnit.NANOSECONDS.toMicros(user.firstReplyAt - started)));
    say("first message of every user answered in %.1f s (Signal sessions set up%s)", (now() - started) / 1e9,
        stats.counts().handoffs() > 0 ? ", " + stats.counts().handoffs() + " handoff notices" : "");
    return latency;
  }

  // ---- load ----

  /** Sends the next scheduled message of user {@code client}. Driver thread only. */
  private void send(int client, long due) {
    User user = users.get(client);
    user.send(AgentReplies.text(user.index, ++user.sentCount), due);
  }

  private Thread progress() {
    Thread ticker = new Thread(() -> {
      long lastReplies = 0;
      long last = now();
      try {
        while (true) {
          Thread.sleep(PROGRESS_EVERY.toMillis());
          AgentBenchStats.Counts c = stats.counts();
          long at = now();
          say("sent %,d, acked %,d, replies %,d (%.0f/s), waiting for a reply %,d", c.sent(), c.acked(),
              c.replies(), (c.replies() - lastReplies) / ((at - last) / 1e9), c.missing());
          lastReplies = c.replies();
          last = at;
        }
      } catch (InterruptedException stop) {
        // the run is over
      }
    }, "bench-agents-progress");
    ticker.setDaemon(true);
    ticker.start();
    return ticker;
  }

  /** One user: its client, its conversation with the agent, and what it hears from the agent's device. */
  private final class User implements Listener {
    final int index;
    final String conversation;
    volatile ParleyClient client;
    long sentCount;
    volatile long firstReplyAt = -1;

    User(int index, String conversation) {
      this.index = index;
      this.conversation = conversation;
    }

    void send(String text, long due) {
      stats.sent(text, due);
      client.send(conversation, text).whenComplete((seq, failure) -> {
        if (failure == null) {
          stats.acked(text, now());
        } else {
          stats.sendFailed(text);
          clientErrors.computeIfAbsent("send: " + describe(failure), k -> new LongAdder()).increment();
        }
      });
    }

    @Override
    public void onMessage(DecryptedMessage message) {
      if (!message.fromUser().equals(agentAccount)) {
        return;
      }
      long at = now();
      AgentReplies.Reply reply = AgentReplies.classify(message.text());
      if (reply instanceof AgentReplies.Echo && firstReplyAt < 0) {
        firstReplyAt = at;
      }
      stats.fromAgent(reply, at);
    }

    @Override
    public void onError(ParleyClientException error) {
      clientErrors.computeIfAbsent(describe(error), k -> new LongAdder()).increment();
    }
  }

  // ---- report ----

  void print(Result r) {
    AgentBenchStats.Counts c = r.counts();
    Plan p = r.plan();
    out.println();
    out.println("Parley bench-agents" + (p.label().isEmpty() ? "" : ": " + p.label()) + "  (" + p.server() + ")");
    out.println(f("  %d users, each in a conversation with agent '%s'%s; %d s warm-up, %d s measured;",
        p.users(), r.agent().id(), r.agent().frontDoor() ? " (the front door)" : "", p.warmup().toSeconds(),
        p.duration().toSeconds()));
    out.println("  the load generator shares the machine");
    out.println();
    row("metric", "value");
    row("-".repeat(24), "-".repeat(64));
    row("offered", f("%,.0f msg/s", p.rate()));
    row("replies (in window)", f("%,.1f msg/s  (%,d in %d s)", c.repliesInWindow() / (double) p.duration()
        .toSeconds(), c.repliesInWindow(), p.duration().toSeconds()));
    row("messages", f("sent %,d (measured %,d), acked %,d, send failures %,d", c.sent(), c.sentMeasured(),
        c.acked(), c.sendFailures()));
    row("replies", f("%,d (measured %,d), missing %,d, duplicates %,d, unmatched %,d", c.replies(),
        c.repliesMeasured(), c.missing(), c.duplicates(), c.unknown()));
    row("other agent messages", f("handoff notices %,d%s", c.handoffs(), c.others().isEmpty() ? ""
        : ", " + c.others()));
    row("ack latency", latencies(r.ack()));
    row("round trip", latencies(r.roundTrip()));
    row("first message", f("all %d answered in %.1f s; round trip %s", p.users(), r.primeSeconds(),
        latencies(r.primeRoundTrip())));
    row("client errors", r.clientErrors().isEmpty() ? "none" : r.clientErrors().toString());
    row("settled after sending", f("%.1f s", r.drainSeconds()));
    r.server().ifPresentOrElse(s -> {
      row("server CPU", f("%.2f cores", s.cpuCores()));
      row("server heap", s.note().isEmpty()
          ? f("used max %,.0f MiB; %d GC pauses, %.2f s", s.heapUsedMaxMib(), s.gcCount(), s.gcPauseSeconds())
          : s.note());
    }, () -> row("server", "not measured (give --server-pid)"));
    HostProbe.Usage h = r.host();
    row("load generator CPU", f("%.2f cores", h.benchCores()));
    row("machine", f("%.2f of %d cores busy", h.busyCores(), h.cores()));
    row("verdict", f("%s the offered rate%s", c.repliesInWindow() >= 0.98 * p.rate() * p.duration().toSeconds()
        ? "kept up with" : "fell behind", r.faulty() ? "; FAULTS (missing, duplicate or unmatched replies)" : ""));
    out.println();
    out.println(resultLine(r));
    out.flush();
  }

  static String resultLine(Result r) {
    AgentBenchStats.Counts c = r.counts();
    StringBuilder line = new StringBuilder("result:");
    kv(line, "label", r.plan().label().isEmpty() ? "-" : r.plan().label().replace(' ', '_'));
    kv(line, "agent", r.agent().id());
    kv(line, "users", r.plan().users());
    kv(line, "offered", f("%.0f", r.plan().rate()));
    kv(line, "replies_per_s", f("%.1f", c.repliesInWindow() / (double) r.plan().duration().toSeconds()));
    kv(line, "sent", c.sent());
    kv(line, "replies", c.replies());
    kv(line, "missing", c.missing());
    kv(line, "duplicates", c.duplicates());
    kv(line, "handoffs", c.handoffs());
    kv(line, "ack_p50_ms", ms(r.ack(), 50));
    kv(line, "ack_p99_ms", ms(r.ack(), 99));
    kv(line, "rt_p50_ms", ms(r.roundTrip(), 50));
    kv(line, "rt_p95_ms", ms(r.roundTrip(), 95));
    kv(line, "rt_p99_ms", ms(r.roundTrip(), 99));
    kv(line, "rt_max_ms", f("%.1f", r.roundTrip().getMaxValue() / 1e3));
    r.server().ifPresent(s -> kv(line, "server_cores", f("%.2f", s.cpuCores())));
    return line.toString();
  }

  private static String latencies(Histogram h) {
    if (h.getTotalCount() == 0) {
      return "none";
    }
    return f("p50 %s ms  p95 %s ms  p99 %s ms  max %.1f ms  (n=%,d)", ms(h, 50), ms(h, 95), ms(h, 99),
        h.getMaxValue() / 1e3, h.getTotalCount());
  }

  private void row(String metric, String value) {
    BenchFormat.row(out, 24, metric, value);
  }

  // ---- helpers ----

  private void say(String format, Object... args) {
    out.println(f("[%6.1f s] ", now() / 1e9) + f(format, args));
    out.flush();
  }

  private static String describe(Throwable failure) {
    Throwable cause = failure;
    while (cause instanceof java.util.concurrent.CompletionException && cause.getCause() != null) {
      cause = cause.getCause();
    }
    return cause instanceof ParleyClientException.ServerError error ? error.code()
        : cause.getClass().getSimpleName();
  }

  private static boolean await(BooleanSupplier condition, Duration timeout) throws InterruptedException {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() > deadline) {
        return false;
      }
      Thread.sleep(20);
    }
    return true;
  }

  private static void join(List<CompletableFuture<Void>> futures, String what) {
    try {
      CompletableFuture.allOf(futures.toArray(CompletableFuture[]::new))
          .orTimeout(SETUP_TIMEOUT.toSeconds(), TimeUnit.SECONDS).join();
    } catch (RuntimeException e) {
      throw new IllegalStateException(what + " failed: " + describe(e), e);
    }
  }

  private static byte[] randomBytes(int count) {
    byte[] bytes = new byte[count];
    new SecureRandom().nextBytes(bytes);
    return bytes;
  }

  private static Path temporaryDirectory() {
    try {
      return Files.createTempDirectory("parley-bench-agents");
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static void deleteRecursively(Path root) {
    try (Stream<Path> paths = Files.walk(root)) {
      paths.sorted(Comparator.reverseOrder()).forEach(path -> path.toFile().delete());
    } catch (IOException e) {
      // a temporary directory: the OS cleans up what is left
    }
  }
}
