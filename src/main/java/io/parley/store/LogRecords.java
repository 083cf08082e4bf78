package io.parley.store;

import de.bwaldvogel.mongo.MongoBackend;
import de.bwaldvogel.mongo.bson.Document;
import de.bwaldvogel.mongo.exception.MongoServerException;
import io.netty.channel.Channel;
import java.util.List;

/**
 * The records of the store's {@link CommandLog}, and how a backend replays them.
 *
 * <ul>
 *   <li>{@code {ops: [...]}}: the document effects of one write, in order; an op is an insert
 *       {@code {o: "i", db, c, ds: [documents]}}, a replacement {@code {o: "u", db, c, d}} of the
 *       document with {@code d}'s {@code _id}, or a removal {@code {o: "r", db, c, id}};
 *   <li>{@code {db, cmd, q}}: any other write command, replayed as it came.
 * </ul>
 */
final class LogRecords {

  private LogRecords() {}

  static Document effects(List<Document> ops) {
    return new Document("ops", ops);
  }

  static Document inserted(String db, String collection, List<Document> documents) {
    return new Document("o", "i").append("db", db).append("c", collection).append("ds", documents);
  }

  static Document replaced(String db, String collection, Document document) {
    return new Document("o", "u").append("db", db).append("c", collection).append("d", document);
  }

  static Document removed(String db, String collection, Object id) {
    return new Document("o", "r").append("db", db).append("c", collection).append("id", id);
  }

  static Document command(String db, String command, Document query) {
    return new Document("db", db).append("cmd", command).append("q", query);
  }

  /** How many operations a record holds (an insert counts each document). */
  static long opsOf(Document record) {
    if (!(record.get("ops") instanceof List<?> ops)) {
      return 1;
    }
    long count = 0;
    for (Object op : ops) {
      count += ((Document) op).get("ds") instanceof List<?> documents ? documents.size() : 1;
    }
    return count;
  }

  /** Applies one record to {@code backend}, which must not log it again; returns its number of ops. */
  static long replay(MongoBackend backend, Channel channel, Document record) {
    if (record.get("ops") instanceof List<?> ops) {
      for (Object op : ops) {
        replayOp(backend, channel, (Document) op);
      }
      return opsOf(record);
    }
    try {
      backend.handleCommand(channel, (String) record.get("db"), (String) record.get("cmd"), (Document) record.get("q"));
    } catch (MongoServerException e) {
      // it failed the same way when it was logged; what it applied before failing it applied again
    }
    return 1;
  }

  private static void replayOp(MongoBackend backend, Channel channel, Document op) {
    String db = (String) op.get("db");
    String collection = (String) op.get("c");
    Document result = switch ((String) op.get("o")) {
      case "i" -> backend.handleCommand(channel, db, "insert",
          new Document("insert", collection).append("documents", op.get("ds")));
      case "u" -> backend.handleCommand(channel, db, "update", new Document("update", collection)
          .append("updates", List.of(new Document("q", idOf(((Document) op.get("d")).get("_id")))
              .append("u", op.get("d")))));
      case "r" -> backend.handleCommand(channel, db, "delete", new Document("delete", collection)
          .append("deletes", List.of(new Document("q", idOf(op.get("id"))).append("limit", 1))));
      default -> throw new IllegalStateException("unknown store log op " + op.get("o"));
    };
    int expected = op.get("ds") instanceof List<?> documents ? documents.size() : 1;
    if (result.get("writeErrors") != null || ((Number) result.get("n")).intValue() != expected) {
      throw new IllegalStateException("the store log does not replay onto its own state: op " + op.get("o")
          + " on " + db + "." + collection + " answered " + result.get("n") + " of " + expected);
    }
  }

  private static Document idOf(Object id) {
    return new Document("_id", id);
  }
}
