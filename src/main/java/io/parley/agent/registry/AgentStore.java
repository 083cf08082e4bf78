package io.parley.agent.registry;

import com.mongodb.ReadConcern;
import com.mongodb.ReadPreference;
import com.mongodb.WriteConcern;
import com.mongodb.client.MongoCollection;
import com.mongodb.client.MongoDatabase;
import com.mongodb.client.model.Filters;
import com.mongodb.client.model.ReplaceOptions;
import com.mongodb.client.model.Sorts;
import com.mongodb.client.model.Updates;
import io.parley.agent.AgentAccounts;
import io.parley.agent.AgentSpec;
import io.parley.agent.kms.KeyEncryptionKey;
import java.net.URI;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Date;
import java.util.List;
import java.util.Optional;
import org.bson.Document;

/**
 * The agents operators registered, in the MongoDB collection {@code agents}: one document per agent id with its
 * display name, endpoint, description, example utterances, enabled flag, update time and its secret sealed under
 * the key-encryption key ({@code sealedSecret}: base64 of the wrapped bytes, {@code kekKeyId}: the key that
 * wrapped it). The secret is never stored or returned in clear. Blocking; thread-safe.
 */
public final class AgentStore {
  public static final String COLLECTION = "agents";

  private final MongoCollection<Document> agents;
  private final KeyEncryptionKey kek;
  private final AgentAccounts accounts;
  private final Clock clock;

  public AgentStore(MongoDatabase db, KeyEncryptionKey kek, AgentAccounts accounts, Clock clock) {
    // an acknowledged registration must survive a primary failover: the singleton reads it right after
    this.agents = db.getCollection(COLLECTION)
        .withWriteConcern(WriteConcern.MAJORITY)
        .withReadConcern(ReadConcern.MAJORITY)
        .withReadPreference(ReadPreference.primary());
    this.kek = kek;
    this.accounts = accounts;
    this.clock = clock;
  }

  /** The outcome of a put: the agent as stored, and whether it is new. */
  public record Put(StoredAgent agent, boolean created) {}

  /**
   * Creates or replaces agent {@code id}. Without a secret, an existing agent keeps its sealed secret; a new agent
   * needs one.
   *
   * @throws InvalidAgentException for an invalid id, or a new agent without a secret
   */
  public Put put(String id, AgentRegistration registration) {
    AgentRegistration.checkId(id);
    Instant now = clock.instant();
    Document fields = new Document("displayName", registration.displayName())
        .append("endpoint", registration.endpoint().toString())
        .append("description", registration.description())
        .append("examples", registration.examples())
        .append("enabled", registration.enabled())
        .append("updatedAt", Date.from(now));
    if (registration.secret().isPresent()) {
      Document doc = new Document("_id", id).append("id", id);
      doc.putAll(fields);
      doc.append("sealedSecret", AgentSecrets.wrap(kek, id, registration.secret().get())).append("kekKeyId", kek.keyId());
      boolean existed = agents.replaceOne(Filters.eq("_id", id), doc, new ReplaceOptions().upsert(true))
          .getMatchedCount() > 0;
      return new Put(fromDocument(doc), !existed);
    }
    List<org.bson.conversions.Bson> sets = new ArrayList<>();
    fields.forEach((name, value) -> sets.add(Updates.set(name, value)));
    if (agents.updateOne(Filters.eq("_id", id), Updates.combine(sets)).getMatchedCount() == 0) {
      throw new InvalidAgentException("secret is required for a new agent");
    }
    return new Put(find(id).orElseThrow(() -> new IllegalStateException("agent vanished after its update")), false);
  }

  public Optional<StoredAgent> find(String id) {
    if (!AgentSpec.isValidId(id)) {
      return Optional.empty();
    }
    return Optional.ofNullable(agents.find(Filters.eq("_id", id)).first()).map(AgentStore::fromDocument);
  }

  /** Every registered agent, by id. */
  public List<StoredAgent> all() {
    List<StoredAgent> all = new ArrayList<>();
    agents.find().sort(Sorts.ascending("_id")).forEach(doc -> all.add(fromDocument(doc)));
    return all;
  }

  /** Every registered agent as the registry distributes it, with its account id. */
  public List<AgentSpec> specs() {
    return all().stream().map(a -> a.toSpec(accounts.accountIdOf(a.id()))).toList();
  }

  /** @return whether there was such an agent */
  public boolean delete(String id) {
    return AgentSpec.isValidId(id) && agents.deleteOne(Filters.eq("_id", id)).getDeletedCount() > 0;
  }

  public String accountIdOf(String agentId) {
    return accounts.accountIdOf(agentId);
  }

  private static StoredAgent fromDocument(Document doc) {
    return new StoredAgent(
        doc.getString("_id"),
        doc.getString("displayName"),
        URI.create(doc.getString("endpoint")),
        doc.getString("description"),
        doc.getList("examples", String.class, List.of()),
        AgentSecrets.join(doc.getString("kekKeyId"), doc.getString("sealedSecret")),
        doc.getBoolean("enabled", true),
        doc.getDate("updatedAt").toInstant());
  }
}
