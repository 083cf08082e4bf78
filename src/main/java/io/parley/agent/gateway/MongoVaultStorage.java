package io.parley.agent.gateway;

import com.mongodb.ReadConcern;
import com.mongodb.WriteConcern;
import com.mongodb.client.MongoCollection;
import com.mongodb.client.MongoDatabase;
import com.mongodb.client.model.Filters;
import com.mongodb.client.model.Indexes;
import com.mongodb.client.model.Projections;
import com.mongodb.client.model.ReplaceOptions;
import io.parley.client.VaultStorage;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.regex.Pattern;
import org.bson.Document;
import org.bson.types.Binary;

/**
 * An agent device's client store in MongoDB, so that the agent's Signal identity, sessions, cursors and
 * pending sends follow the agent when its entity moves to another node. One collection,
 * {@value #COLLECTION}, one document per entry: {@code {_id: vaultId + "/" + name, vault: vaultId, data:
 * Binary}}. The values arrive sealed by the client's store (AES-256-GCM under its store key, the entry
 * name as associated data), so the database holds no plaintext and no key.
 *
 * <p>Writes are upserts with majority write concern and reads use majority read concern: an entry the
 * client was told is written survives a primary failover, and the next holder reads it.
 *
 * <p><strong>One holder at a time is the caller's job.</strong> Unlike the directory storage there is no
 * lock: two clients running on the same vault at once would fork the device's Signal sessions (each
 * ratchets on its own copy and overwrites the other's). Run the client inside something that exists once
 * per agent device in the cluster, such as a sharded entity, and close it before the entity hands over.
 * The MongoDB client belongs to the caller; {@link #close()} only ends this storage's use of it.
 */
public final class MongoVaultStorage implements VaultStorage {
  public static final String COLLECTION = "agent_vaults";
  private static final Pattern VAULT_ID = Pattern.compile("[A-Za-z0-9_.:-]{1,200}");

  private final MongoCollection<Document> entries;
  private final String vaultId;
  private final String prefix;
  private volatile boolean closed;

  /**
   * @param vaultId the device's vault, such as the agent's account id and device number; 1–200 characters
   *                of {@code A–Z a–z 0–9 _ . : -} (no {@code /}, so that ids of two vaults never collide)
   */
  public MongoVaultStorage(MongoDatabase db, String vaultId) {
    if (vaultId == null || !VAULT_ID.matcher(vaultId).matches()) {
      throw new IllegalArgumentException("a vault id is 1-200 characters of letters, digits, '_', '.', ':' or '-'");
    }
    this.vaultId = vaultId;
    this.prefix = vaultId + "/";
    this.entries = db.getCollection(COLLECTION)
        .withWriteConcern(WriteConcern.MAJORITY)
        .withReadConcern(ReadConcern.MAJORITY);
    entries.createIndex(Indexes.ascending("vault"));
  }

  public String vaultId() {
    return vaultId;
  }

  @Override
  public Optional<byte[]> read(String name) {
    Document entry = open().find(Filters.eq("_id", prefix + name)).first();
    return Optional.ofNullable(entry).map(document -> document.get("data", Binary.class).getData());
  }

  @Override
  public void write(String name, byte[] sealed) {
    Document entry = new Document("_id", prefix + name).append("vault", vaultId).append("data", new Binary(sealed));
    open().replaceOne(Filters.eq("_id", prefix + name), entry, new ReplaceOptions().upsert(true));
  }

  @Override
  public void delete(String name) {
    open().deleteOne(Filters.eq("_id", prefix + name));
  }

  @Override
  public List<String> list() {
    List<String> names = new ArrayList<>();
    for (Document entry : open().find(Filters.eq("vault", vaultId)).projection(Projections.include("_id"))) {
      names.add(entry.getString("_id").substring(prefix.length()));
    }
    return names;
  }

  /** Removes every entry of this vault: the device is gone for good (its keys cannot be recovered). */
  public void destroy() {
    open().deleteMany(Filters.eq("vault", vaultId));
  }

  @Override
  public void close() {
    closed = true;
  }

  private MongoCollection<Document> open() {
    if (closed) {
      throw new IllegalStateException("the vault storage of " + vaultId + " is closed");
    }
    return entries;
  }
}
