package io.parley.store;

import com.mongodb.client.MongoCollection;
import com.mongodb.client.model.InsertManyOptions;
import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import io.parley.config.ParleySettings.EmbeddedStore;
import io.parley.config.ParleySettings.StoreSettings;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.Props;
import org.apache.pekko.actor.typed.javadsl.Adapter;
import org.apache.pekko.actor.typed.javadsl.AskPattern;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.serialization.Serialization;
import org.apache.pekko.serialization.SerializationExtension;
import org.apache.pekko.serialization.Serializers;
import org.bson.Document;
import org.bson.types.Binary;
import org.bson.types.ObjectId;

/**
 * Measures how long one entity takes to recover when the journal holds many events of other
 * entities, with the journal in one collection or spread over buckets (not part of the test suite).
 *
 * <p>The journal is filled directly in the plugin's document format (one document per event, as
 * an entity persisting one event at a time writes it), then entities recover through the plugin.
 *
 * <p>Arguments (optional): total events (default 200000), events per entity (default 100), event
 * payload bytes (default 512), bucket counts (default 64,1).
 */
public final class JournalRecoveryBenchmark {

  private JournalRecoveryBenchmark() {}

  public static void main(String[] args) throws Exception {
    int totalEvents = args.length > 0 ? Integer.parseInt(args[0]) : 200_000;
    int perEntity = args.length > 1 ? Integer.parseInt(args[1]) : 100;
    int payloadBytes = args.length > 2 ? Integer.parseInt(args[2]) : 512;
    String[] bucketCounts = (args.length > 3 ? args[3] : "64,1").split(",");
    for (String buckets : bucketCounts) {
      run(Integer.parseInt(buckets), totalEvents, perEntity, payloadBytes);
    }
  }

  private static void run(int buckets, int totalEvents, int perEntity, int payloadBytes) throws Exception {
    Path dir = Files.createTempDirectory("parley-recovery");
    int entities = totalEvents / perEntity;
    StoreSettings settings = new StoreSettings("", "parley", buckets, new EmbeddedStore(dir, false, "127.0.0.1", 0, false));
    JournalBuckets bucketing = new JournalBuckets(buckets);
    long loadStart = System.nanoTime();
    try (MongoStore store = MongoStore.start(settings)) {
      ActorSystem<Void> system = ActorSystem.create(Behaviors.empty(), "load", config(store));
      Serialization serialization = SerializationExtension.get(Adapter.toClassic(system));
      Tally.Added event = new Tally.Added(1, "n".repeat(payloadBytes));
      byte[] payload = serialization.serialize(event).get();
      int serializerId = serialization.findSerializerFor(event).identifier();
      String manifest = Serializers.manifestFor(serialization.findSerializerFor(event), event);
      system.terminate();
      system.getWhenTerminated().toCompletableFuture().get(1, TimeUnit.MINUTES);

      Map<String, List<Document>> batches = new HashMap<>();
      for (int sn = 1; sn <= perEntity; sn++) {
        for (int e = 0; e < entities; e++) {
          String pid = "Tally|e" + e;
          String collection = buckets > 1 ? "pekko_persistence_journal_" + bucketing.getSuffixFromPersistenceId(pid) : "pekko_persistence_journal";
          List<Document> batch = batches.computeIfAbsent(collection, c -> new ArrayList<>());
          batch.add(new Document("_id", new ObjectId()).append("pid", pid).append("from", (long) sn).append("to", (long) sn)
              .append("events", List.of(new Document("v", 1).append("pid", pid).append("sn", (long) sn).append("_t", "ser")
                  .append("p", new Binary(payload)).append("_h", manifest).append("_sm", manifest).append("_si", serializerId)
                  .append("_w", UUID.randomUUID().toString())))
              .append("v", 1));
          if (batch.size() == 1000) {
            insert(store, collection, batch);
          }
        }
      }
      batches.forEach((collection, batch) -> insert(store, collection, batch));
    }
    double loadSeconds = (System.nanoTime() - loadStart) / 1e9;
    long fileBytes = Files.size(EmbeddedMongoServer.storeFile(dir));

    List<Double> millis = new ArrayList<>();
    try (MongoStore store = MongoStore.start(settings)) {
      ActorSystem<Void> system = ActorSystem.create(Behaviors.empty(), "recover", config(store));
      try {
        for (int n = 0; n < 20; n++) {
          String id = "e" + ((n * 7919) % entities);
          long start = System.nanoTime();
          ActorRef<Tally.Command> tally = system.systemActorOf(Tally.create(id), "recover-" + n, Props.empty());
          Tally.State state = AskPattern.<Tally.Command, Tally.State>ask(tally, Tally.Get::new, Duration.ofSeconds(120), system.scheduler())
              .toCompletableFuture().get(120, TimeUnit.SECONDS);
          millis.add((System.nanoTime() - start) / 1e6);
          if (state.events() != perEntity) {
            throw new IllegalStateException(id + " recovered " + state.events() + " events, expected " + perEntity);
          }
        }
      } finally {
        system.terminate();
        system.getWhenTerminated().toCompletableFuture().get(1, TimeUnit.MINUTES);
      }
    }
    List<Double> sorted = new ArrayList<>(millis);
    Collections.sort(sorted);
    System.out.printf("buckets=%d events=%d entities=%d payload=%dB load=%.0fs file=%.0fMB | recovery of one entity (%d events): first %.0f ms, median %.0f ms, max %.0f ms%n",
        buckets, totalEvents, entities, payloadBytes, loadSeconds, fileBytes / 1e6, perEntity,
        millis.get(0), sorted.get(sorted.size() / 2), sorted.get(sorted.size() - 1));
    try (var files = Files.walk(dir)) {
      files.sorted(Collections.reverseOrder()).forEach(p -> p.toFile().delete());
    }
  }

  private static void insert(MongoStore store, String collection, List<Document> batch) {
    if (batch.isEmpty()) {
      return;
    }
    MongoCollection<Document> journal = store.database().getCollection(collection);
    journal.insertMany(batch, new InsertManyOptions().ordered(false));
    batch.clear();
  }

  private static Config config(MongoStore store) {
    return store.journalConfig()
        .withFallback(ConfigFactory.parseString("""
            pekko.actor.provider = local
            pekko.loglevel = WARNING
            pekko-contrib-mongodb-persistence-journal.recovery-event-timeout = 120s
            pekko-contrib-mongodb-persistence-journal.circuit-breaker.call-timeout = 120s
            """))
        .withFallback(ConfigFactory.load());
  }
}
