package io.parley.store;

import com.mongodb.client.MongoClient;
import com.mongodb.client.MongoClients;
import com.mongodb.client.MongoCollection;
import io.parley.config.ParleySettings.EmbeddedStore;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicBoolean;
import org.HdrHistogram.Histogram;
import org.HdrHistogram.Recorder;
import org.bson.Document;
import org.bson.types.Binary;

/**
 * Measures acknowledged inserts per second through the embedded store (not part of the test suite).
 * Each writer inserts journal-sized documents one at a time and waits for each acknowledgement.
 *
 * <p>Arguments (optional): seconds per run (default 10), writer counts (default 1,16,64), modes
 * (default all: MEMORY,DURABLE_NO_FSYNC,DURABLE_FSYNC). Prints latency, the process CPU per insert
 * (server and writers), commits (group writes of the log) a second and the share of time the log writer spent in fsync.
 */
public final class StoreThroughput {

  private StoreThroughput() {}

  /** CPU of the whole process (server and writers): comparable across runs on a shared machine. */
  private static long processCpuNanos() {
    return ((com.sun.management.OperatingSystemMXBean) java.lang.management.ManagementFactory.getOperatingSystemMXBean())
        .getProcessCpuTime();
  }

  enum Mode { MEMORY, DURABLE_NO_FSYNC, DURABLE_FSYNC }

  public static void main(String[] args) throws Exception {
    int seconds = args.length > 0 ? Integer.parseInt(args[0]) : 10;
    int[] writerCounts = args.length > 1
        ? Arrays.stream(args[1].split(",")).mapToInt(Integer::parseInt).toArray()
        : new int[] {1, 16, 64};
    System.out.printf("%-18s %8s %10s %8s %8s %8s %9s %9s %10s %9s%n", "mode", "writers", "inserts/s", "p50 ms",
        "p99 ms", "max ms", "file MB", "cpu ms/op", "commits/s", "sync %");
    Mode[] modes = args.length > 2
        ? Arrays.stream(args[2].split(",")).map(Mode::valueOf).toArray(Mode[]::new)
        : Mode.values();
    for (Mode mode : modes) {
      for (int writers : writerCounts) {
        run(mode, writers, seconds);
      }
    }
  }

  private static void run(Mode mode, int writers, int seconds) throws Exception {
    Path dir = Files.createTempDirectory("parley-throughput");
    EmbeddedStore settings = new EmbeddedStore(dir, mode == Mode.MEMORY, "127.0.0.1", 0, mode == Mode.DURABLE_FSYNC);
    try (EmbeddedMongoServer server = EmbeddedMongoServer.start(settings);
        MongoClient client = MongoClients.create(server.connectionString())) {
      MongoCollection<Document> journal = client.getDatabase("bench").getCollection("journal");
      journal.insertOne(new Document("_id", "warm-up"));
      Recorder latencies = new Recorder(3);
      AtomicBoolean measuring = new AtomicBoolean(false);
      AtomicBoolean running = new AtomicBoolean(true);
      long[] counts = new long[writers];
      CountDownLatch finished = new CountDownLatch(writers);
      byte[] payload = new byte[300];
      for (int w = 0; w < writers; w++) {
        int writer = w;
        Thread thread = new Thread(() -> {
          try {
            for (long seq = 1; running.get(); seq++) {
              Document event = new Document("pid", "Conversation|" + writer)
                  .append("from", seq).append("to", seq)
                  .append("events", List.of(new Document("sn", seq).append("p", new Binary(payload))));
              long start = System.nanoTime();
              journal.insertOne(event);
              if (measuring.get()) {
                latencies.recordValue((System.nanoTime() - start) / 1000);
                counts[writer]++;
              }
            }
          } finally {
            finished.countDown();
          }
        });
        thread.start();
      }
      Thread.sleep(2000); // warm-up: JIT, connection pool
      latencies.reset();
      CommandLog.Stats statsBefore = server.commitStats().orElse(null);
      long cpuBefore = processCpuNanos();
      measuring.set(true);
      long start = System.nanoTime();
      Thread.sleep(seconds * 1000L);
      measuring.set(false);
      long elapsed = System.nanoTime() - start;
      long cpu = processCpuNanos() - cpuBefore;
      CommandLog.Stats statsAfter = server.commitStats().orElse(null);
      running.set(false);
      finished.await();
      Histogram histogram = latencies.getIntervalHistogram();
      long total = Arrays.stream(counts).sum();
      double fileMb = mode == Mode.MEMORY ? 0 : Files.size(EmbeddedMongoServer.storeFile(dir)) / 1e6;
      double commitsPerSecond = statsBefore == null ? 0 : (statsAfter.commits() - statsBefore.commits()) / (elapsed / 1e9);
      double syncShare = statsBefore == null ? 0 : 100.0 * (statsAfter.syncNanos() - statsBefore.syncNanos()) / elapsed;
      System.out.printf("%-18s %8d %10.0f %8.2f %8.2f %8.2f %9.1f %9.3f %10.1f %9.1f%n", mode, writers,
          total / (elapsed / 1e9), histogram.getValueAtPercentile(50) / 1000.0,
          histogram.getValueAtPercentile(99) / 1000.0, histogram.getMaxValue() / 1000.0, fileMb,
          cpu / 1e6 / Math.max(1, total), commitsPerSecond, syncShare);
    } finally {
      try (var files = Files.walk(dir)) {
        files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
      }
    }
  }
}
