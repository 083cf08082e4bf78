package io.parley.store;

import com.mongodb.ConnectionString;
import com.mongodb.ErrorCategory;
import com.mongodb.MongoClientSettings;
import com.mongodb.MongoException;
import com.mongodb.MongoWriteException;
import com.mongodb.client.MongoClient;
import com.mongodb.client.MongoClients;
import com.mongodb.client.MongoCollection;
import com.mongodb.client.MongoDatabase;
import com.mongodb.client.model.Filters;
import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import io.parley.config.ParleySettings.StoreSettings;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Set;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.bson.Document;
import org.bson.UuidRepresentation;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Parley's one database: the journal and snapshots of the event-sourced entities (through the
 * journal plugin) and Parley's own collections (through {@link #client()} / {@link #database()}).
 *
 * <p>Talks to a real MongoDB when {@code parley.store.mongodb-uri} is set, and otherwise starts an
 * {@link EmbeddedMongoServer} in the node. Start it before the actor system and layer
 * {@link #journalConfig()} over the application configuration.
 */
public final class MongoStore implements AutoCloseable {

  private static final Logger log = LoggerFactory.getLogger(MongoStore.class);

  static final String PLUGIN_CONFIG = "pekko.contrib.persistence.mongodb.mongo";
  /** Parley's facts about the database itself, such as the journal's bucket count. */
  static final String META_COLLECTION = "parley_meta";
  // the journal plugin's default collection names (persistence.conf keeps them)
  private static final String PLUGIN_JOURNAL_COLLECTION = "pekko_persistence_journal";
  private static final String PLUGIN_SNAPSHOT_COLLECTION = "pekko_persistence_snaps";
  private static final String PLUGIN_METADATA_COLLECTION = "pekko_persistence_metadata";
  static final String DEFAULT_DATABASE = "parley";

  private static final int SERVER_SELECTION_TIMEOUT_SECONDS = 10;
  private static final int CONNECT_TIMEOUT_SECONDS = 5;
  private static final int HEALTH_TIMEOUT_MILLIS = 2000;

  private final EmbeddedMongoServer embedded;
  private final String connectionString;
  private final String journalUri;
  private final String databaseName;
  private final int journalBuckets;
  private final MongoClient client;
  private final MongoClient healthClient;
  private final MongoDatabase database;
  private volatile boolean closed;

  private MongoStore(
      EmbeddedMongoServer embedded,
      String connectionString,
      String journalUri,
      String databaseName,
      int journalBuckets,
      MongoClient client,
      MongoClient healthClient) {
    this.embedded = embedded;
    this.connectionString = connectionString;
    this.journalUri = journalUri;
    this.databaseName = databaseName;
    this.journalBuckets = journalBuckets;
    this.client = client;
    this.healthClient = healthClient;
    this.database = client.getDatabase(databaseName);
  }

  /**
   * Connects to the configured MongoDB, or starts the embedded server when no URI is configured,
   * and checks that the journal's bucket count matches the one the database was written with.
   */
  public static MongoStore start(StoreSettings settings) {
    EmbeddedMongoServer embedded = settings.isEmbedded() ? EmbeddedMongoServer.start(settings.embedded()) : null;
    MongoClient client = null;
    MongoClient healthClient = null;
    try {
      String connectionString = embedded != null ? embedded.connectionString() : settings.mongodbUri().trim();
      ConnectionString parsed = new ConnectionString(connectionString);
      String databaseName = databaseName(settings, parsed);
      String journalUri = embedded != null ? connectionString + "/" + databaseName : connectionString;
      client = MongoClients.create(clientSettings(parsed));
      healthClient = MongoClients.create(healthClientSettings(parsed));
      MongoStore store = new MongoStore(
          embedded, connectionString, journalUri, databaseName, settings.journalBuckets(), client, healthClient);
      store.checkJournalBuckets();
      JournalBuckets.install(settings.journalBuckets());
      if (embedded != null) {
        store.createJournalCollections();
      }
      log.info("store ready: database '{}' on {}, journal in {} bucket(s)",
          databaseName, embedded != null ? "the embedded server " + embedded.address() : "MongoDB", settings.journalBuckets());
      return store;
    } catch (RuntimeException e) {
      closeAll(client, healthClient, embedded);
      throw e;
    }
  }

  private static String databaseName(StoreSettings settings, ConnectionString parsed) {
    if (!settings.database().isBlank()) {
      return settings.database().trim();
    }
    return parsed.getDatabase() != null ? parsed.getDatabase() : DEFAULT_DATABASE;
  }

  private static MongoClientSettings clientSettings(ConnectionString parsed) {
    return MongoClientSettings.builder()
        .applyConnectionString(parsed)
        .applicationName(parsed.getApplicationName() != null ? parsed.getApplicationName() : "parley")
        .uuidRepresentation(parsed.getUuidRepresentation() != null ? parsed.getUuidRepresentation() : UuidRepresentation.STANDARD)
        .applyToClusterSettings(cluster -> {
          if (parsed.getServerSelectionTimeout() == null) {
            cluster.serverSelectionTimeout(SERVER_SELECTION_TIMEOUT_SECONDS, TimeUnit.SECONDS);
          }
        })
        .applyToSocketSettings(socket -> {
          if (parsed.getConnectTimeout() == null) {
            socket.connectTimeout(CONNECT_TIMEOUT_SECONDS, TimeUnit.SECONDS);
          }
        })
        .build();
  }

  /** A one-connection client with short timeouts, so that a readiness probe never hangs. */
  private static MongoClientSettings healthClientSettings(ConnectionString parsed) {
    return MongoClientSettings.builder()
        .applyConnectionString(parsed)
        .applicationName("parley-health")
        .applyToClusterSettings(cluster -> cluster.serverSelectionTimeout(HEALTH_TIMEOUT_MILLIS, TimeUnit.MILLISECONDS))
        .applyToSocketSettings(socket -> socket
            .connectTimeout(HEALTH_TIMEOUT_MILLIS, TimeUnit.MILLISECONDS)
            .readTimeout(HEALTH_TIMEOUT_MILLIS, TimeUnit.MILLISECONDS))
        .applyToConnectionPoolSettings(pool -> pool.minSize(0).maxSize(1))
        .build();
  }

  /*
   * The journal plugin creates its collections on first use. On the embedded server, many entities
   * recovering at once on a fresh store race to create the same collection, and the loser gets an error
   * the plugin does not recognise as "exists": recoveries fail until the circuit breaker opens. Creating
   * them here, one by one, leaves the plugin only the answer it tolerates.
   */
  private void createJournalCollections() {
    Set<String> existing = database.listCollectionNames().into(new HashSet<>());
    JournalBuckets buckets = new JournalBuckets(journalBuckets);
    List<String> wanted = new ArrayList<>(List.of(PLUGIN_METADATA_COLLECTION));
    for (int bucket = 0; bucket < buckets.count(); bucket++) {
      String suffix = journalBuckets > 1 ? "_" + buckets.suffixOf(bucket) : "";
      wanted.add(PLUGIN_JOURNAL_COLLECTION + suffix);
      wanted.add(PLUGIN_SNAPSHOT_COLLECTION + suffix);
    }
    wanted.stream().filter(name -> !existing.contains(name)).forEach(database::createCollection);
  }

  /**
   * Events are looked up in the bucket of their persistence id, so the count a journal was written
   * with can never change: a different count would silently hide existing events.
   */
  private void checkJournalBuckets() {
    MongoCollection<Document> meta = database.getCollection(META_COLLECTION);
    Document recorded = meta.find(Filters.eq("_id", "journal")).first();
    if (recorded == null) {
      try {
        meta.insertOne(new Document("_id", "journal").append("buckets", journalBuckets));
        return;
      } catch (MongoWriteException e) {
        if (e.getError().getCategory() != ErrorCategory.DUPLICATE_KEY) {
          throw e;
        }
        recorded = meta.find(Filters.eq("_id", "journal")).first();
      }
    }
    int recordedBuckets = recorded.getInteger("buckets");
    if (recordedBuckets != journalBuckets) {
      throw new IllegalStateException(
          "the journal in database '" + databaseName + "' is written in " + recordedBuckets
              + " bucket(s) but parley.store.journal-buckets is " + journalBuckets
              + "; the bucket count of an existing journal cannot change, set it back to " + recordedBuckets);
    }
  }

  /** How to reach the database: {@code mongodb://host:port}, with the credentials and options of a configured URI. */
  public String connectionString() {
    return connectionString;
  }

  public String databaseName() {
    return databaseName;
  }

  public int journalBuckets() {
    return journalBuckets;
  }

  /** The synchronous driver, for Parley's own collections. */
  public MongoClient client() {
    return client;
  }

  public MongoDatabase database() {
    return database;
  }

  /** The embedded server, when this node runs one. */
  public Optional<EmbeddedMongoServer> embeddedServer() {
    return Optional.ofNullable(embedded);
  }

  /**
   * Settings to layer over the application configuration before the actor system starts: where the
   * journal plugin connects and how it buckets the journal and snapshot collections. The URI carries
   * the credentials of a configured MongoDB URI, so do not log this configuration.
   */
  public Config journalConfig() {
    Map<String, Object> values = new LinkedHashMap<>();
    values.put(PLUGIN_CONFIG + ".mongouri", journalUri);
    values.put(PLUGIN_CONFIG + ".database", databaseName);
    values.put(PLUGIN_CONFIG + ".suffix-builder.class", journalBuckets > 1 ? JournalBuckets.class.getName() : "");
    values.put(PLUGIN_CONFIG + ".suffix-builder.separator", "_");
    return ConfigFactory.parseMap(values, "Parley store");
  }

  /** A ping with a short timeout; false as soon as the embedded store has failed a commit. */
  public boolean isHealthy() {
    if (closed || (embedded != null && !embedded.isHealthy())) {
      return false;
    }
    try {
      healthClient.getDatabase(databaseName).runCommand(new Document("ping", 1));
      return true;
    } catch (MongoException | IllegalStateException e) {
      return false;
    }
  }

  /** Closes the clients, then the embedded server (which commits and frees its data directory). */
  @Override
  public synchronized void close() {
    if (closed) {
      return;
    }
    closed = true;
    closeAll(client, healthClient, embedded);
  }

  private static void closeAll(MongoClient client, MongoClient healthClient, EmbeddedMongoServer embedded) {
    for (AutoCloseable resource : new AutoCloseable[] {client, healthClient, embedded}) {
      if (resource == null) {
        continue;
      }
      try {
        resource.close();
      } catch (Exception e) {
        log.warn("closing {} failed", resource.getClass().getSimpleName(), e);
      }
    }
  }
}
