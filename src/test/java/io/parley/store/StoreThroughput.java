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
 * <p>Arguments (optional): seconds per run (default 10), writer counts (default 1,16,64).
 */
public final class StoreThroughput {

  private StoreThroughput() {}

  enum Mode { MEMORY, DURABLE_NO_FSYNC, DURABLE_FSYNC }

  public static void main(String[] args) throws Exception {
    int seconds = args.length > 0 ? Integer.parseInt(args[0]) : 10;
    int[] writerCounts = args.length > 1
        ? Arrays.stream(args[1].split(",")).mapToInt(Integer::parseInt).toArray()
        : new int[] {1, 16, 64};
    System.out.printf("%-18s %8s %12s %10s %10s %10s %12s%n", "mode", "writers", "inserts/s", "p50 ms", "p99 ms", "max ms", "file MB");
    for (Mode mode : Mode.values()) {
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
      measuring.set(true);
      long start = System.nanoTime();
      Thread.sleep(seconds * 1000L);
      measuring.set(false);
      long elapsed = System.nanoTime() - start;
      running.set(false);
      finished.await();
      Histogram histogram = latencies.getIntervalHistogram();
      long total = Arrays.stream(counts).sum();
      double fileMb = mode == Mode.MEMORY ? 0 : Files.size(EmbeddedMongoServer.storeFile(dir)) / 1e6;
      System.out.printf("%-18s %8d %12.0f %10.2f %10.2f %10.2f %12.1f%n", mode, writers, total / (elapsed / 1e9),
          histogram.getValueAtPercentile(50) / 1000.0, histogram.getValueAtPercentile(99) / 1000.0,
          histogram.getMaxValue() / 1000.0, fileMb);
    } finally {
      try (var files = Files.walk(dir)) {
        files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
      }
    }
  }
}
