package io.parley.agent.registry;

import io.parley.agent.RegistrySnapshot;
import java.util.Optional;
import org.redisson.api.RBucket;
import org.redisson.api.RedissonClient;
import org.redisson.client.codec.StringCodec;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The last registry snapshot in Redis, under one fixed key: the singleton writes every new version, a starting
 * node reads it to route before the cluster has told it anything. The snapshot names no user and holds agents'
 * secrets only sealed. Failures are logged and answered as "nothing cached": Redis is a head start, never a
 * dependency of routing.
 */
public final class SnapshotCache {
  private static final Logger log = LoggerFactory.getLogger(SnapshotCache.class);

  private final RBucket<String> bucket;

  public SnapshotCache(RedissonClient redis, String key) {
    this.bucket = redis.getBucket(key, StringCodec.INSTANCE);
  }

  public Optional<RegistrySnapshot> read() {
    try {
      return Optional.ofNullable(bucket.get()).map(SnapshotCodec::fromJson);
    } catch (RuntimeException e) {
      log.warn("The cached agent registry could not be read from Redis: {}", e.getMessage());
      return Optional.empty();
    }
  }

  /** Writes {@code snapshot} unless Redis holds a newer one already (a former singleton's, after a partition). */
  public void write(RegistrySnapshot snapshot) {
    try {
      Optional<RegistrySnapshot> cached = read();
      if (cached.isEmpty() || !cached.get().isNewerThan(snapshot)) {
        bucket.set(SnapshotCodec.toJson(snapshot));
      }
    } catch (RuntimeException e) {
      log.warn("The agent registry snapshot could not be cached in Redis: {}", e.getMessage());
    }
  }
}
