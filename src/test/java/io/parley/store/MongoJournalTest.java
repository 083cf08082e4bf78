package io.parley.store;

import static org.assertj.core.api.Assertions.assertThat;

import com.mongodb.client.model.Filters;
import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import io.parley.config.ParleySettings.EmbeddedStore;
import io.parley.config.ParleySettings.StoreSettings;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.stream.IntStream;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.persistence.query.EventEnvelope;
import org.apache.pekko.persistence.query.PersistenceQuery;
import org.apache.pekko.stream.javadsl.Sink;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import pekko.contrib.persistence.mongodb.JavaDslMongoReadJournal;
import pekko.contrib.persistence.mongodb.MongoReadJournal;

/** The journal plugin on the embedded durable store with bucketed collections. */
class MongoJournalTest {

  private static final int BUCKETS = 64;
  private static final List<String> IDS = IntStream.range(0, 8).mapToObj(i -> "conversation-" + i).toList();
  private static final int EVENTS_PER_ID = 5;

  @TempDir Path dir;

  @Test
  void persistsRecoversAfterRestartAndReadsARangeAcrossBuckets() throws Exception {
    StoreSettings settings = new StoreSettings("", "parley", BUCKETS, new EmbeddedStore(dir, false, "127.0.0.1", 0, true));
    try (MongoStore store = MongoStore.start(settings)) {
      Config config = store.journalConfig()
          .withFallback(ConfigFactory.parseString("""
              pekko.actor.provider = local
              pekko.loglevel = WARNING
              """))
          .withFallback(ConfigFactory.load());

      ActorTestKit first = ActorTestKit.create("store-first", config);
      try {
        TestProbe<Long> persisted = first.createTestProbe();
        for (String id : IDS) {
          ActorRef<Tally.Command> tally = first.spawn(Tally.create(id));
          for (int amount = 1; amount <= EVENTS_PER_ID; amount++) {
            tally.tell(new Tally.Add(amount, persisted.ref()));
            persisted.expectMessage(Duration.ofSeconds(10), (long) amount);
          }
        }
      } finally {
        first.shutdownTestKit();
      }

      ActorTestKit second = ActorTestKit.create("store-second", config);
      try {
        TestProbe<Tally.State> recovered = second.createTestProbe();
        for (String id : IDS) {
          second.spawn(Tally.create(id)).tell(new Tally.Get(recovered.ref()));
          recovered.expectMessage(Duration.ofSeconds(10), new Tally.State(15, EVENTS_PER_ID));
        }

        JavaDslMongoReadJournal journal = PersistenceQuery.get(second.system())
            .getReadJournalFor(JavaDslMongoReadJournal.class, MongoReadJournal.Identifier());
        List<EventEnvelope> range = journal.currentEventsByPersistenceId("Tally|" + IDS.get(3), 2, 4)
            .runWith(Sink.seq(), second.system())
            .toCompletableFuture()
            .get(10, TimeUnit.SECONDS);
        assertThat(range).extracting(EventEnvelope::sequenceNr).containsExactly(2L, 3L, 4L);
        assertThat(range).extracting(EventEnvelope::event)
            .containsExactly(new Tally.Added(2, "added 2"), new Tally.Added(3, "added 3"), new Tally.Added(4, "added 4"));
      } finally {
        second.shutdownTestKit();
      }

      JournalBuckets buckets = new JournalBuckets(BUCKETS);
      Set<String> bucketCollections = new TreeSet<>();
      for (String id : IDS) {
        String collection = "pekko_persistence_journal_" + buckets.getSuffixFromPersistenceId("Tally|" + id);
        assertThat(store.database().getCollection(collection).countDocuments(Filters.eq("pid", "Tally|" + id)))
            .as("events of %s in %s", id, collection)
            .isEqualTo(EVENTS_PER_ID);
        bucketCollections.add(collection);
      }
      assertThat(bucketCollections).hasSizeGreaterThan(1);
      assertThat(store.database().listCollectionNames().into(new TreeSet<>()))
          .doesNotContain("pekko_persistence_journal")
          .containsAll(bucketCollections);
    }
  }
}
