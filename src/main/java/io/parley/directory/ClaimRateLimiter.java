package io.parley.directory;

import io.parley.config.ParleySettings.DirectorySettings;
import io.parley.limits.RedisRateLimit;
import io.parley.redis.KeyedHash;
import java.time.Clock;
import java.time.Duration;
import java.util.concurrent.CompletionStage;
import org.redisson.api.RedissonClient;

/**
 * Limits prekey claims per requesting account over the whole cluster ({@code claimRate} claims in any
 * {@code claimInterval}) with a {@link RedisRateLimit}: Redis keys name the account by an HMAC of its id
 * under the identity pepper. When Redis cannot answer, claims are let through: the limit protects prekeys
 * from being drained, and a Redis outage should not stop new chats.
 */
public final class ClaimRateLimiter {
  /** Redisson's own command timeout: a claim is no hot path, so it may wait for Redis that long. */
  private static final Duration REDIS_TIMEOUT = Duration.ofSeconds(2);

  /** {@code retryAfterMs}: when the next claim can succeed (0 when allowed). */
  public record Decision(boolean allowed, long retryAfterMs) {}

  private final RedisRateLimit limit;

  public ClaimRateLimiter(RedissonClient redis, byte[] pepper, DirectorySettings settings, Clock clock) {
    this.limit = new RedisRateLimit(redis, new KeyedHash(pepper), "claims", "claim-limit", settings.claimRate(),
        settings.claimInterval(), REDIS_TIMEOUT, clock);
  }

  public CompletionStage<Decision> tryClaim(String accountId) {
    return limit.tryAcquire(accountId).thenApply(d -> new Decision(d.allowed(), d.retryAfterMs()));
  }
}
