package io.parley.agent.gateway;

import com.mongodb.ErrorCategory;
import com.mongodb.MongoWriteException;
import com.mongodb.ReadConcern;
import com.mongodb.WriteConcern;
import com.mongodb.client.MongoCollection;
import com.mongodb.client.MongoDatabase;
import com.mongodb.client.model.Filters;
import io.parley.agent.kms.KeyEncryptionKey;
import java.time.Clock;
import java.util.Date;
import org.bson.Document;
import org.bson.types.Binary;

/**
 * Each agent's data key, kept in the {@code agent_keys} collection wrapped by the key-encryption key
 * (envelope encryption): the database alone never opens an agent's private keys. Created on first use;
 * concurrent creators agree on the first one stored. Thread-safe.
 */
public final class AgentDataKeys {
  public static final String COLLECTION = "agent_keys";

  private final MongoCollection<Document> keys;
  private final KeyEncryptionKey kek;
  private final Clock clock;

  public AgentDataKeys(MongoDatabase db, KeyEncryptionKey kek, Clock clock) {
    this.keys = db.getCollection(COLLECTION)
        .withWriteConcern(WriteConcern.MAJORITY)
        .withReadConcern(ReadConcern.MAJORITY);
    this.kek = kek;
    this.clock = clock;
  }

  public DataKey of(String agentId) {
    Document stored = keys.find(Filters.eq("_id", agentId)).first();
    if (stored != null) {
      return unwrap(agentId, stored);
    }
    DataKey fresh = DataKey.generate();
    try {
      keys.insertOne(new Document("_id", agentId)
          .append("wrapped", new Binary(kek.wrap(fresh.raw(), context(agentId))))
          .append("kek", kek.keyId())
          .append("createdAt", Date.from(clock.instant())));
      return fresh;
    } catch (MongoWriteException e) {
      if (e.getError().getCategory() != ErrorCategory.DUPLICATE_KEY) {
        throw e;
      }
      return unwrap(agentId, keys.find(Filters.eq("_id", agentId)).first());
    }
  }

  private DataKey unwrap(String agentId, Document stored) {
    return new DataKey(kek.unwrap(stored.get("wrapped", Binary.class).getData(), context(agentId)));
  }

  private static String context(String agentId) {
    return "agent-data-key:" + agentId;
  }
}
