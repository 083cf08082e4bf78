package io.parley.store;

import com.typesafe.config.ConfigFactory;
import io.parley.config.ParleySettings.EmbeddedStore;
import io.parley.config.ParleySettings.StoreSettings;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Collections;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.Props;
import org.apache.pekko.actor.typed.javadsl.AskPattern;
import org.apache.pekko.actor.typed.javadsl.Behaviors;

/**
 * Measures events persisted per second through the journal plugin into the durable embedded store
 * (not part of the test suite): entities each persist one event at a time and send the next once
 * the previous one is acknowledged.
 *
 * <p>Arguments (optional): entities (default 200), seconds (default 15), buckets (default 64), store mode
 * ({@code nofsync} by default, {@code fsync} or {@code memory}).
 */
public final class JournalPersistThroughput {

  private static final CommandLog.Stats NONE = new CommandLog.Stats(0, 0, 0, 0);

  private JournalPersistThroughput() {}

  public static void main(String[] args) throws Exception {
    int entities = args.length > 0 ? Integer.parseInt(args[0]) : 200;
    int seconds = args.length > 1 ? Integer.parseInt(args[1]) : 15;
    int buckets = args.length > 2 ? Integer.parseInt(args[2]) : 64;
    String mode = args.length > 3 ? args[3] : "nofsync";
    boolean inMemory = mode.equals("memory");
    boolean fsync = mode.equals("fsync");
    Path dir = Files.createTempDirectory("parley-persist");
    StoreSettings settings = new StoreSettings("", "parley", buckets, new EmbeddedStore(dir, inMemory, "127.0.0.1", 0, fsync));
    try (MongoStore store = MongoStore.start(settings)) {
      ActorSystem<Void> system = ActorSystem.create(Behaviors.empty(), "persist", store.journalConfig()
          .withFallback(ConfigFactory.parseString("""
              pekko.actor.provider = local
              pekko.loglevel = WARNING
              """))
          .withFallback(ConfigFactory.load()));
      AtomicLong persisted = new AtomicLong();
      AtomicBoolean running = new AtomicBoolean(true);
      try {
        for (int e = 0; e < entities; e++) {
          ActorRef<Tally.Command> tally = system.systemActorOf(Tally.create("e" + e), "tally-" + e, Props.empty());
          persistNext(system, tally, persisted, running);
        }
        EmbeddedMongoServer server = store.embeddedServer().orElseThrow();
        Thread.sleep(5000); // warm-up: JIT, recovery, connection pool
        long startCount = persisted.get();
        CommandLog.Stats before = server.commitStats().orElse(NONE);
        long start = System.nanoTime();
        long cpuStart = processCpuNanos();
        long committerCpuStart = committerCpuNanos();
        java.util.Map<String, Long> threadsBefore = cpuByThreadGroup();
        Thread.sleep(seconds * 1000L);
        double cpuMillis = (processCpuNanos() - cpuStart) / 1e6;
        double committerCpuMillis = (committerCpuNanos() - committerCpuStart) / 1e6;
        java.util.Map<String, Long> threadsAfter = cpuByThreadGroup();
        long measured = persisted.get() - startCount;
        threadsAfter.forEach((group, nanos) -> System.out.printf("  %-50s %.3f cpu ms/event%n", group,
            (nanos - threadsBefore.getOrDefault(group, 0L)) / 1e6 / Math.max(1, measured)));
        long events = persisted.get() - startCount;
        double elapsed = (System.nanoTime() - start) / 1e9;
        CommandLog.Stats after = server.commitStats().orElse(NONE);
        long commits = after.commits() - before.commits();
        System.out.printf(
            "entities=%d buckets=%d events/s=%.0f | commits/s=%.1f records/commit=%.1f sync ms/commit=%.1f log MB written=%.1f file MB=%.1f"
                + " | cpu ms/event=%.2f committer cpu ms/event=%.2f%n",
            entities, buckets, events / elapsed, commits / elapsed,
            (after.records() - before.records()) / (double) Math.max(1, commits),
            (after.syncNanos() - before.syncNanos()) / 1e6 / Math.max(1, commits),
            (after.bytes() - before.bytes()) / 1e6,
            inMemory ? 0 : Files.size(EmbeddedMongoServer.storeFile(dir)) / 1e6,
            cpuMillis / Math.max(1, events), committerCpuMillis / Math.max(1, events));
      } finally {
        running.set(false);
        system.terminate();
        system.getWhenTerminated().toCompletableFuture().get(1, TimeUnit.MINUTES);
      }
    } finally {
      try (var files = Files.walk(dir)) {
        files.sorted(Collections.reverseOrder()).forEach(p -> p.toFile().delete());
      }
    }
  }

  private static long processCpuNanos() {
    return ((com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean()).getProcessCpuTime();
  }

  private static java.util.Map<String, Long> cpuByThreadGroup() {
    java.util.Map<String, Long> groups = new java.util.TreeMap<>();
    var threads = ManagementFactory.getThreadMXBean();
    for (long id : threads.getAllThreadIds()) {
      var info = threads.getThreadInfo(id);
      if (info != null) {
        groups.merge(info.getThreadName().replaceAll("\\d+", "N"), Math.max(0, threads.getThreadCpuTime(id)), Long::sum);
      }
    }
    return groups;
  }

  private static long committerCpuNanos() {
    return Thread.getAllStackTraces().keySet().stream()
        .filter(thread -> thread.getName().equals("parley-store-log-writer"))
        .mapToLong(thread -> ManagementFactory.getThreadMXBean().getThreadCpuTime(thread.getId()))
        .sum();
  }

  private static void persistNext(ActorSystem<Void> system, ActorRef<Tally.Command> tally, AtomicLong persisted,
      AtomicBoolean running) {
    if (!running.get()) {
      return;
    }
    CompletionStage<Long> reply = AskPattern.ask(tally, replyTo -> new Tally.Add(1, replyTo), Duration.ofSeconds(60),
        system.scheduler());
    reply.whenComplete((events, failure) -> {
      if (failure == null) {
        persisted.incrementAndGet();
      }
      persistNext(system, tally, persisted, running);
    });
  }
}
