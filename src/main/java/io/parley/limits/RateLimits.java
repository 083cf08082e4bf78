package io.parley.limits;

import io.parley.config.ParleySettings;
import io.parley.config.ParleySettings.RateLimitSettings;
import io.parley.limits.RedisRateLimit.Decision;
import io.parley.redis.KeyedHash;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.function.Predicate;
import org.apache.pekko.actor.typed.Scheduler;
import org.redisson.api.RedissonClient;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import scala.concurrent.ExecutionContext;

/**
 * The node's request limits, shared by the cluster through Redis: sends per user (a burst limit and a
 * sustained one) and ephemeral frames per user and conversation (the same), decided on the node and settled
 * with Redis every {@code settle-interval} (ADR 0024); WebSocket upgrades per client address, checked in Redis
 * one round trip each (ADR 0021). When Redis fails, sends and ephemerals are held to the node's own count and
 * upgrades are let through (ADR 0012). {@link #settleEvery} starts the settling.
 */
public final class RateLimits {
  private static final Logger log = LoggerFactory.getLogger(RateLimits.class);
  private static final CompletionStage<Decision> ALLOWED = CompletableFuture.completedFuture(Decision.ALLOWED);

  private final boolean enabled;
  private final SettledRateLimit sends;
  private final SettledRateLimit ephemerals;
  private final RedisRateLimit connect;
  private volatile Predicate<String> unlimited = account -> false;

  public RateLimits(RedissonClient redis, KeyedHash hash, RateLimitSettings settings, Clock clock) {
    this.enabled = settings.enabled();
    this.sends = new SettledRateLimit(redis, hash, "sends", "send-limit",
        List.of(band(settings.sendBurst()), band(settings.sendSustained())), settings.redisTimeout(), clock);
    this.ephemerals = new SettledRateLimit(redis, hash, "ephemerals", "ephemeral-limit",
        List.of(band(settings.ephemeralBurst()), band(settings.ephemeralSustained())), settings.redisTimeout(), clock);
    this.connect = new RedisRateLimit(redis, hash, "connects", "connect-limit", settings.connect().permits(),
        settings.connect().interval(), settings.redisTimeout(), clock);
  }

  /**
   * One send of {@code accountId}, against the burst and the sustained limit, decided on the node (after one
   * read of the account's limits from Redis when the node has not seen it lately); a refused send takes no
   * permit of either.
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

  /**
   * Settles the sends and ephemerals allowed on this node with Redis every {@code interval}, on
   * {@code scheduler}, until it stops.
   */
  public void settleEvery(Scheduler scheduler, Duration interval, ExecutionContext executor) {
    if (enabled) {
      // an exception would end a fixed-delay schedule for good: log it and settle again next time
      scheduler.scheduleWithFixedDelay(interval, interval, () -> {
        try {
          settle();
        } catch (RuntimeException e) {
          log.error("settling the rate limits with Redis failed; trying again in {}", interval, e);
        }
      }, executor);
    }
  }

  /** Tells Redis what this node allowed since the last settle; completes when Redis has answered. */
  public CompletionStage<Void> settle() {
    return CompletableFuture.allOf(sends.settle().toCompletableFuture(), ephemerals.settle().toCompletableFuture());
  }

  private static RedisRateLimit.Band band(ParleySettings.Limit limit) {
    return new RedisRateLimit.Band(limit.permits(), limit.interval());
  }

  /**
   * How many calls to Redis for limits failed (a counter for metrics): upgrades let through, and reads and
   * settles of sends and ephemerals (one per call, which may carry up to 256 subjects), decided on the node alone.
   */
  public long failedOpen() {
    return sends.failedOpen() + ephemerals.failedOpen() + connect.failedOpen();
  }
}
