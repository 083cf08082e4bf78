package io.parley.limits;

import io.parley.config.ParleySettings;
import io.parley.config.ParleySettings.RateLimitSettings;
import io.parley.limits.RedisRateLimit.Decision;
import io.parley.redis.KeyedHash;
import java.time.Clock;
import java.util.concurrent.CompletableFuture;
import java.util.List;
import java.util.concurrent.CompletionStage;
import java.util.function.Predicate;
import org.redisson.api.RedissonClient;

/**
 * The node's request limits, shared by the cluster through Redis: sends per user (a burst limit and a
 * sustained one), ephemeral frames per user and conversation (the same) and WebSocket upgrades per client
 * address. All checks are asynchronous and fail open
 * (ADR 0012).
 */
public final class RateLimits {
  private static final CompletionStage<Decision> ALLOWED = CompletableFuture.completedFuture(Decision.ALLOWED);

  private final boolean enabled;
  private final RedisRateLimit sends;
  private final RedisRateLimit ephemerals;
  private final RedisRateLimit connect;
  private volatile Predicate<String> unlimited = account -> false;

  public RateLimits(RedissonClient redis, KeyedHash hash, RateLimitSettings settings, Clock clock) {
    this.enabled = settings.enabled();
    this.sends = new RedisRateLimit(redis, hash, "sends", "send-limit",
        List.of(band(settings.sendBurst()), band(settings.sendSustained())), settings.redisTimeout(), clock);
    this.ephemerals = new RedisRateLimit(redis, hash, "ephemerals", "ephemeral-limit",
        List.of(band(settings.ephemeralBurst()), band(settings.ephemeralSustained())), settings.redisTimeout(), clock);
    this.connect = new RedisRateLimit(redis, hash, "connects", "connect-limit", settings.connect().permits(),
        settings.connect().interval(), settings.redisTimeout(), clock);
  }

  /**
   * One send of {@code accountId}, against the burst and the sustained limit in one Redis round trip; a
   * refused send takes no permit of either.
   */
  public CompletionStage<Decision> trySend(String accountId) {
    if (!enabled || unlimited.test(accountId)) {
      return ALLOWED;
    }
    return sends.tryAcquire(accountId);
  }

  /**
   * One ephemeral frame of {@code accountId} in {@code conversationId}: limited per conversation, so that an
   * agent streaming replies into many conversations at once is not held back by its own total.
   */
  public CompletionStage<Decision> tryEphemeral(String accountId, String conversationId) {
    if (!enabled) {
      return ALLOWED;
    }
    return ephemerals.tryAcquire(accountId + " " + conversationId);
  }

  /**
   * Accounts whose sends are not limited per user: the agents, whose devices speak in many users'
   * conversations at once (each user's own sends stay limited).
   */
  public void exempt(Predicate<String> accounts) {
    this.unlimited = accounts;
  }

  /** One WebSocket upgrade from {@code clientAddress}. */
  public CompletionStage<Decision> tryConnect(String clientAddress) {
    return enabled ? connect.tryAcquire(clientAddress) : ALLOWED;
  }

  private static RedisRateLimit.Band band(ParleySettings.Limit limit) {
    return new RedisRateLimit.Band(limit.permits(), limit.interval());
  }

  /** How many checks were let through because Redis did not answer (a counter for metrics). */
  public long failedOpen() {
    return sends.failedOpen() + ephemerals.failedOpen() + connect.failedOpen();
  }
}
