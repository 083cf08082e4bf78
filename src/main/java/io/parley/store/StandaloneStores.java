package io.parley.store;

import io.parley.config.ParleySettings.EmbeddedStore;
import io.parley.config.ParleySettings.RedisSettings;
import io.parley.redis.RedisConnection;
import java.nio.file.Path;

/**
 * The embedded MongoDB-wire store and the bundled Redis on their own, outside any node, so that several
 * node processes on one machine share them as they would share a MongoDB and a Redis deployment
 * ({@code parley store}, {@code parley local-cluster}). Nodes reach them through
 * {@link #mongodbUri()} and {@link #redisUrl()}.
 */
public final class StandaloneStores implements AutoCloseable {
  private static final String HOST = "127.0.0.1";

  private final EmbeddedMongoServer mongo;
  private final RedisConnection redis;
  private final int redisPort;

  private StandaloneStores(EmbeddedMongoServer mongo, RedisConnection redis, int redisPort) {
    this.mongo = mongo;
    this.redis = redis;
    this.redisPort = redisPort;
  }

  /**
   * Starts both on 127.0.0.1. A port of 0 picks a free one; {@code inMemory} keeps nothing across
   * restarts, otherwise the store is durable in {@code dataDir} (which it locks against a second store).
   */
  public static StandaloneStores start(Path dataDir, int mongoPort, int redisPort, boolean inMemory, boolean fsync) {
    EmbeddedMongoServer mongo = EmbeddedMongoServer.start(new EmbeddedStore(dataDir, inMemory, HOST, mongoPort, fsync));
    try {
      RedisConnection redis = RedisConnection.start(new RedisSettings("", redisPort));
      return new StandaloneStores(mongo, redis, redis.embeddedPort().orElseThrow());
    } catch (RuntimeException e) {
      mongo.close();
      throw e;
    }
  }

  /** For {@code PARLEY_MONGODB_URI}. */
  public String mongodbUri() {
    return mongo.connectionString();
  }

  /** For {@code PARLEY_REDIS_URL}. */
  public String redisUrl() {
    return "redis://" + HOST + ":" + redisPort;
  }

  public boolean isHealthy() {
    return mongo.isHealthy() && redis.isHealthy();
  }

  /** Stops Redis, then commits and closes the store. */
  @Override
  public void close() {
    try {
      redis.close();
    } finally {
      mongo.close();
    }
  }
}
