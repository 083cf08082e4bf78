package io.parley.store;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.mongodb.ErrorCategory;
import com.mongodb.MongoWriteException;
import com.mongodb.client.MongoClient;
import com.mongodb.client.MongoClients;
import com.mongodb.client.MongoCollection;
import com.mongodb.client.model.Filters;
import com.mongodb.client.model.IndexOptions;
import com.mongodb.client.model.Indexes;
import com.mongodb.client.model.Sorts;
import de.bwaldvogel.mongo.MongoServer;
import de.bwaldvogel.mongo.backend.h2.H2Backend;
import io.parley.config.ParleySettings.EmbeddedStore;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.bson.Document;
import org.bson.types.Binary;
import org.h2.mvstore.MVStore;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A data directory written by an earlier release (an H2 MVStore file) is converted into the command log once. */
class LegacyStoreConversionTest {

  @TempDir Path dir;

  private EmbeddedStore durable() {
    return new EmbeddedStore(dir, false, "127.0.0.1", 0, true);
  }

  private static Document event(String pid, long sn) {
    return new Document("pid", pid).append("from", sn).append("to", sn)
        .append("events", List.of(new Document("sn", sn).append("p", new Binary(new byte[] {(byte) sn}))));
  }

  /** A store file as releases before the conversion wrote it: H2's default types. */
  private void writeLegacyStore() {
    MVStore store = new MVStore.Builder().fileName(legacyFile().toString()).open();
    MongoServer server = new MongoServer(new H2Backend(store));
    try (MongoClient client = MongoClients.create("mongodb://127.0.0.1:" + server.bind().getPort())) {
      MongoCollection<Document> journal = client.getDatabase("parley").getCollection("journal_07");
      journal.createIndex(Indexes.ascending("pid", "from", "to"), new IndexOptions().unique(true));
      for (long sn = 1; sn <= 150; sn++) {
        journal.insertOne(event("Conversation|c-" + (sn % 3), sn));
      }
      client.getDatabase("parley").getCollection("accounts").insertOne(new Document("_id", "alice").append("n", 1));
    } finally {
      server.shutdown();
    }
    assertThat(storeVersion()).isZero();
  }

  private Path legacyFile() {
    return dir.resolve(DurableStore.LEGACY_FILE);
  }

  private int storeVersion() {
    MVStore store = new MVStore.Builder().fileName(legacyFile().toString()).readOnly().open();
    try {
      return store.getStoreVersion();
    } finally {
      store.close();
    }
  }

  @Test
  void convertsALegacyStoreOnceAndKeepsDocumentsAndUniqueIndexes() throws Exception {
    writeLegacyStore();

    for (int start = 0; start < 2; start++) {
      try (EmbeddedMongoServer server = EmbeddedMongoServer.start(durable());
          MongoClient client = MongoClients.create(server.connectionString())) {
        MongoCollection<Document> journal = client.getDatabase("parley").getCollection("journal_07");
        assertThat(journal.countDocuments()).isEqualTo(150 + start);
        List<Document> c1 = journal.find(Filters.eq("pid", "Conversation|c-1")).sort(Sorts.ascending("to"))
            .into(new ArrayList<>());
        assertThat(c1).hasSize(50 + start);
        assertThat(c1.get(0).getLong("to")).isEqualTo(1L);
        assertThat(c1.get(0).getList("events", Document.class).get(0).get("p", Binary.class).getData())
            .containsExactly(1);
        assertThatThrownBy(() -> journal.insertOne(event("Conversation|c-1", 1)))
            .isInstanceOfSatisfying(MongoWriteException.class,
                e -> assertThat(e.getError().getCategory()).isEqualTo(ErrorCategory.DUPLICATE_KEY));
        assertThatThrownBy(() -> client.getDatabase("parley").getCollection("accounts")
            .insertOne(new Document("_id", "alice")))
            .isInstanceOf(MongoWriteException.class);
        journal.insertOne(event("Conversation|c-1", 1000 + start));
      }
      assertThat(legacyFile()).doesNotExist();
      assertThat(dir.resolve(DurableStore.LEGACY_FILE + DurableStore.CONVERTED)).exists();
      assertThat(DurableStore.logFile(dir)).exists();
    }
  }

  @Test
  void aConversionInterruptedAfterTheLogWasWrittenKeepsTheLog() throws Exception {
    writeLegacyStore();
    try (EmbeddedMongoServer server = EmbeddedMongoServer.start(durable());
        MongoClient client = MongoClients.create(server.connectionString())) {
      client.getDatabase("parley").getCollection("accounts").insertOne(new Document("_id", "bob"));
    }
    // as if the node had died between writing the log and renaming the old file
    Files.move(dir.resolve(DurableStore.LEGACY_FILE + DurableStore.CONVERTED), legacyFile());

    try (EmbeddedMongoServer server = EmbeddedMongoServer.start(durable());
        MongoClient client = MongoClients.create(server.connectionString())) {
      assertThat(client.getDatabase("parley").getCollection("accounts").countDocuments()).isEqualTo(2);
      assertThat(client.getDatabase("parley").getCollection("journal_07").countDocuments()).isEqualTo(150);
    }
    assertThat(legacyFile()).doesNotExist();
  }
}
