package io.parley.agent.registry;

import com.mongodb.ErrorCategory;
import com.mongodb.MongoWriteException;
import com.mongodb.ReadConcern;
import com.mongodb.ReadPreference;
import com.mongodb.WriteConcern;
import com.mongodb.client.MongoCollection;
import com.mongodb.client.MongoDatabase;
import com.mongodb.client.model.Filters;
import com.mongodb.client.model.Updates;
import java.time.Instant;
import java.util.Date;
import org.bson.Document;

/**
 * The registry's version counter, in MongoDB {@code agent_registry_meta}: the last version the singleton
 * published and a hash of its content. A singleton that takes over after a failover continues from here, so
 * versions never go backwards, and it publishes nothing new while the content is the same (docs/adr/0016).
 * Blocking; used by the registry singleton only.
 */
public final class RegistryVersions {
  public static final String COLLECTION = "agent_registry_meta";
  private static final String ID = "snapshot";

  private final MongoCollection<Document> meta;

  public RegistryVersions(MongoDatabase db) {
    this.meta = db.getCollection(COLLECTION)
        .withWriteConcern(WriteConcern.MAJORITY)
        .withReadConcern(ReadConcern.MAJORITY)
        .withReadPreference(ReadPreference.primary());
  }

  /** The last published version and its content hash; version 0 and an empty hash before the first. */
  public record Published(long version, String contentHash) {
    public static final Published NONE = new Published(0, "");
  }

  public Published current() {
    Document doc = meta.find(Filters.eq("_id", ID)).first();
    return doc == null ? Published.NONE : new Published(doc.getLong("version"), doc.getString("contentHash"));
  }

  /**
   * The version for content with {@code contentHash}: the current one when the content is unchanged, otherwise
   * the next, recorded only if nobody recorded another version since {@code seen} was read (a second singleton
   * during a partition); then the caller reads again.
   *
   * @return the version to publish
   * @throws ConcurrentUpdateException when another writer advanced the counter first
   */
  public long versionFor(Published seen, String contentHash, Instant now) {
    if (seen.contentHash().equals(contentHash) && seen.version() > 0) {
      return seen.version();
    }
    long next = seen.version() + 1;
    Date at = Date.from(now);
    if (seen.version() == 0) {
      try {
        meta.insertOne(new Document("_id", ID).append("version", next).append("contentHash", contentHash)
            .append("updatedAt", at));
        return next;
      } catch (MongoWriteException e) {
        if (e.getError().getCategory() == ErrorCategory.DUPLICATE_KEY) {
          throw new ConcurrentUpdateException();
        }
        throw e;
      }
    }
    long matched = meta.updateOne(Filters.and(Filters.eq("_id", ID), Filters.eq("version", seen.version())),
        Updates.combine(Updates.set("version", next), Updates.set("contentHash", contentHash),
            Updates.set("updatedAt", at))).getMatchedCount();
    if (matched == 0) {
      throw new ConcurrentUpdateException();
    }
    return next;
  }

  /** Another writer recorded a version between our read and our write. */
  public static final class ConcurrentUpdateException extends RuntimeException {
    ConcurrentUpdateException() {
      super("the registry version was advanced by another writer", null, false, false);
    }
  }
}
