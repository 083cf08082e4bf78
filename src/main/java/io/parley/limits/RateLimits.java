package io.parley.limits;

import io.parley.config.ParleySettings.RateLimitSettings;
import io.parley.limits.RedisRateLimit.Decision;
import io.parley.redis.KeyedHash;
import java.time.Clock;
import java.util.concurrent.CompletableFuture;
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
  private final RedisRateLimit sendBurst;
  private final RedisRateLimit sendSustained;
  private final RedisRateLimit ephemeralBurst;
  private final RedisRateLimit ephemeralSustained;
  private final RedisRateLimit connect;
  private volatile Predicate<String> unlimited = account -> false;

  public RateLimits(RedissonClient redis, KeyedHash hash, RateLimitSettings settings, Clock clock) {
    this.enabled = settings.enabled();
    this.sendBurst = new RedisRateLimit(redis, hash, "sends", "send-limit", settings.sendBurst().permits(),
        settings.sendBurst().interval(), settings.redisTimeout(), clock);
    this.sendSustained = new RedisRateLimit(redis, hash, "sends", "send-limit", settings.sendSustained().permits(),
        settings.sendSustained().interval(), settings.redisTimeout(), clock);
    this.ephemeralBurst = new RedisRateLimit(redis, hash, "ephemerals", "ephemeral-limit",
        settings.ephemeralBurst().permits(), settings.ephemeralBurst().interval(), settings.redisTimeout(), clock);
    this.ephemeralSustained = new RedisRateLimit(redis, hash, "ephemerals", "ephemeral-limit",
        settings.ephemeralSustained().permits(), settings.ephemeralSustained().interval(), settings.redisTimeout(),
        clock);
    this.connect = new RedisRateLimit(redis, hash, "connects", "connect-limit", settings.connect().permits(),
        settings.connect().interval(), settings.redisTimeout(), clock);
  }

  /**
   * One send of {@code accountId}. The sustained limit is asked only when the burst limit allows, so a send
   * refused for its burst takes no permit of the sustained window.
   */
  public CompletionStage<Decision> trySend(String accountId) {
    if (!enabled || unlimited.test(accountId)) {
      return ALLOWED;
    }
    return both(sendBurst, sendSustained, accountId);
  }

  /**
   * One ephemeral frame of {@code accountId} in {@code conversationId}: limited per conversation, so that an
   * agent streaming replies into many conversations at once is not held back by its own total.
   */
  public CompletionStage<Decision> tryEphemeral(String accountId, String conversationId) {
    if (!enabled) {
      return ALLOWED;
    }
    String subject = accountId + " " + conversationId;
    return both(ephemeralBurst, ephemeralSustained, subject);
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

  /** The sustained limit is asked only when the burst limit allows: a refusal for the burst takes no sustained permit. */
  private static CompletionStage<Decision> both(RedisRateLimit burst, RedisRateLimit sustained, String subject) {
    return burst.tryAcquire(subject).thenCompose(first -> first.allowed()
        ? sustained.tryAcquire(subject)
        : CompletableFuture.completedFuture(first));
  }

  /** How many checks were let through because Redis did not answer (a counter for metrics). */
  public long failedOpen() {
    return sendBurst.failedOpen() + sendSustained.failedOpen() + ephemeralBurst.failedOpen()
        + ephemeralSustained.failedOpen() + connect.failedOpen();
  }
}
