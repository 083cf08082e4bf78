package io.parley.store;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.mongodb.MongoWriteException;
import com.mongodb.client.MongoClient;
import com.mongodb.client.MongoClients;
import com.mongodb.client.MongoCollection;
import com.mongodb.client.MongoDatabase;
import com.mongodb.client.model.Filters;
import com.mongodb.client.model.FindOneAndUpdateOptions;
import com.mongodb.client.model.IndexOptions;
import com.mongodb.client.model.Indexes;
import com.mongodb.client.model.ReturnDocument;
import com.mongodb.client.model.Sorts;
import com.mongodb.client.model.UpdateOneModel;
import com.mongodb.client.model.UpdateOptions;
import com.mongodb.client.model.Updates;
import io.parley.config.ParleySettings.EmbeddedStore;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.IntStream;
import org.bson.Document;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The durable store rebuilt from its command log after a restart is the store that was written. */
class CommandLogTest {

  @TempDir Path dir;

  private EmbeddedMongoServer start() {
    return EmbeddedMongoServer.start(new EmbeddedStore(dir, false, "127.0.0.1", 0, false));
  }

  /** Every document of every collection of the database, in _id order. */
  private static Map<String, List<Document>> contents(MongoDatabase db) {
    Map<String, List<Document>> all = new LinkedHashMap<>();
    for (String name : db.listCollectionNames().into(new ArrayList<>()).stream().sorted().toList()) {
      all.put(name, db.getCollection(name).find().sort(Sorts.ascending("_id")).into(new ArrayList<>()));
    }
    return all;
  }

  @Test
  void aRestartRebuildsWhatEveryKindOfWriteLeft() {
    Map<String, List<Document>> written;
    try (EmbeddedMongoServer server = start(); MongoClient client = MongoClients.create(server.connectionString())) {
      MongoDatabase db = client.getDatabase("parley");
      MongoCollection<Document> keys = db.getCollection("keys");
      keys.createIndex(Indexes.ascending("owner", "n"), new IndexOptions().unique(true));
      keys.insertMany(IntStream.range(0, 20).mapToObj(i -> new Document("owner", "o" + i % 4).append("n", i)).toList());
      keys.updateMany(Filters.eq("owner", "o1"), Updates.inc("claims", 1));
      keys.deleteMany(Filters.eq("owner", "o2"));
      // the server makes the _id of an upsert and the date: a replay must not make new ones
      keys.updateOne(Filters.eq("owner", "new"), Updates.combine(Updates.set("n", 100), Updates.currentDate("at")),
          new UpdateOptions().upsert(true));
      keys.findOneAndUpdate(Filters.eq("owner", "o3"), Updates.set("claimed", true),
          new FindOneAndUpdateOptions().sort(Sorts.ascending("n")).returnDocument(ReturnDocument.AFTER));
      db.getCollection("dropped").insertOne(new Document("_id", 1));
      db.getCollection("dropped").drop();
      db.createCollection("empty");
      assertThatThrownBy(() -> keys.insertOne(new Document("owner", "o0").append("n", 0)))
          .isInstanceOf(MongoWriteException.class);
      written = contents(db);
    }
    assertThat(written.keySet()).containsExactly("empty", "keys");
    assertThat(written.get("keys")).hasSize(16).anyMatch(d -> d.get("at") != null);

    try (EmbeddedMongoServer server = start(); MongoClient client = MongoClients.create(server.connectionString())) {
      MongoDatabase db = client.getDatabase("parley");
      assertThat(contents(db)).isEqualTo(written);
      assertThatThrownBy(() -> db.getCollection("keys").insertOne(new Document("owner", "o0").append("n", 0)))
          .as("the unique index is rebuilt")
          .isInstanceOf(MongoWriteException.class);
    }
  }

  @Test
  void aTornLastRecordIsCutOffAndWritingGoesOn() throws Exception {
    try (EmbeddedMongoServer server = start(); MongoClient client = MongoClients.create(server.connectionString())) {
      client.getDatabase("parley").getCollection("accounts").insertOne(new Document("_id", "a"));
    }
    // a crash in the middle of writing a record: a length and part of a body
    Files.write(DurableStore.logFile(dir), new byte[] {40, 0, 0, 0, 1, 2, 3, 4, 5, 6}, StandardOpenOption.APPEND);

    try (EmbeddedMongoServer server = start(); MongoClient client = MongoClients.create(server.connectionString())) {
      MongoCollection<Document> accounts = client.getDatabase("parley").getCollection("accounts");
      assertThat(accounts.countDocuments()).isEqualTo(1);
      accounts.insertOne(new Document("_id", "b"));
    }
    try (EmbeddedMongoServer server = start(); MongoClient client = MongoClients.create(server.connectionString())) {
      assertThat(client.getDatabase("parley").getCollection("accounts").find().sort(Sorts.ascending("_id"))
          .map(d -> d.getString("_id")).into(new ArrayList<>())).containsExactly("a", "b");
    }
  }

  @Test
  void aLogMostlyOfOverwrittenDocumentsIsRewrittenOnOpen() throws Exception {
    int updates = 12_000;
    try (EmbeddedMongoServer server = start(); MongoClient client = MongoClients.create(server.connectionString())) {
      MongoCollection<Document> cursors = client.getDatabase("parley").getCollection("cursors");
      cursors.insertOne(new Document("_id", "c").append("seq", 0));
      cursors.bulkWrite(IntStream.rangeClosed(1, updates)
          .mapToObj(i -> new UpdateOneModel<Document>(Filters.eq("_id", "c"), Updates.set("seq", i))).toList());
    }
    long before = Files.size(DurableStore.logFile(dir));

    try (EmbeddedMongoServer server = start(); MongoClient client = MongoClients.create(server.connectionString())) {
      assertThat(Files.size(DurableStore.logFile(dir))).isLessThan(before / 100);
      MongoCollection<Document> cursors = client.getDatabase("parley").getCollection("cursors");
      assertThat(cursors.find().first()).isEqualTo(new Document("_id", "c").append("seq", updates));
      cursors.updateOne(Filters.eq("_id", "c"), Updates.set("seq", updates + 1));
    }
    try (EmbeddedMongoServer server = start(); MongoClient client = MongoClients.create(server.connectionString())) {
      assertThat(client.getDatabase("parley").getCollection("cursors").find().first().getInteger("seq"))
          .isEqualTo(updates + 1);
    }
  }
}
