package io.parley.store;

import de.bwaldvogel.mongo.MongoBackend;
import de.bwaldvogel.mongo.MongoCollection;
import de.bwaldvogel.mongo.bson.Document;
import io.netty.channel.Channel;
import java.util.ArrayList;
import java.util.List;

/**
 * The contents of a backend as {@link LogRecords}: for each collection its creation, its indexes and
 * its documents in batches. Replayed onto an empty backend they rebuild the same data; the store
 * writes them as a new log when its log has grown well past its data, and to convert an older store.
 */
final class StoreDump {

  private static final int BATCH = 500;

  private StoreDump() {}

  static List<Document> records(MongoBackend backend, Channel channel) {
    List<Document> records = new ArrayList<>();
    for (Document database : firstBatch(backend.handleCommand(channel, "admin", "listDatabases",
        new Document("listDatabases", 1)), "databases")) {
      String db = (String) database.get("name");
      Document listed = backend.handleCommand(channel, db, "listCollections", new Document("listCollections", 1));
      for (Document collection : firstBatch(listed, null)) {
        String name = (String) collection.get("name");
        if (name.startsWith("system.")) {
          continue;
        }
        dumpCollection(backend, channel, db, name, records);
      }
    }
    return records;
  }

  private static void dumpCollection(MongoBackend backend, Channel channel, String db, String name,
      List<Document> records) {
    records.add(LogRecords.command(db, "create", new Document("create", name)));
    List<Document> indexes = new ArrayList<>();
    for (Document index : firstBatch(backend.handleCommand(channel, db, "listIndexes",
        new Document("listIndexes", name)), null)) {
      if (!"_id_".equals(index.get("name"))) {
        Document spec = new Document(index);
        spec.remove("v");
        spec.remove("ns");
        indexes.add(spec);
      }
    }
    if (!indexes.isEmpty()) {
      records.add(LogRecords.command(db, "createIndexes",
          new Document("createIndexes", name).append("indexes", indexes)));
    }
    MongoCollection<?> collection = backend.resolveDatabase(db).resolveCollection(name, false);
    if (collection == null) {
      return;
    }
    List<Document> batch = new ArrayList<>(BATCH);
    for (Document document : collection.queryAll()) {
      batch.add(document);
      if (batch.size() == BATCH) {
        records.add(LogRecords.effects(List.of(LogRecords.inserted(db, name, batch))));
        batch = new ArrayList<>(BATCH);
      }
    }
    if (!batch.isEmpty()) {
      records.add(LogRecords.effects(List.of(LogRecords.inserted(db, name, batch))));
    }
  }

  /** The documents of a command's answer: {@code field} of it, or its cursor's first (only) batch. */
  @SuppressWarnings("unchecked")
  private static List<Document> firstBatch(Document answer, String field) {
    if (field != null) {
      return (List<Document>) answer.get(field);
    }
    Document cursor = (Document) answer.get("cursor");
    if (((Number) cursor.get("id")).longValue() != 0) {
      throw new IllegalStateException("a listing of the store did not fit one batch");
    }
    return (List<Document>) cursor.get("firstBatch");
  }
}
