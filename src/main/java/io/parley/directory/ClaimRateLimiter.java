package io.parley.directory;

import io.parley.config.ParleySettings.DirectorySettings;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.time.Clock;
import java.time.Duration;
import java.util.Base64;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import org.redisson.api.RRateLimiter;
import org.redisson.api.RateType;
import org.redisson.api.RedissonClient;
import org.redisson.client.codec.ByteArrayCodec;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Limits prekey claims per requesting account over the whole cluster with a Redisson {@link RRateLimiter}
 * (a sliding window: {@code claimRate} claims in any {@code claimInterval}). Redis keys name the account
 * by an HMAC of its id under the identity pepper, never by the id itself, and expire when idle. The rate
 * is part of the key, so a changed setting takes effect at once. When Redis cannot answer, claims are let
 * through: the limit protects prekeys from being drained, and a Redis outage should not stop new chats.
 */
public final class ClaimRateLimiter {
  private static final Logger log = LoggerFactory.getLogger(ClaimRateLimiter.class);
  private static final String HMAC = "HmacSHA256";

  /** {@code retryAfterMs}: when the next claim can succeed (0 when allowed). */
  public record Decision(boolean allowed, long retryAfterMs) {}

  private final RedissonClient redis;
  private final SecretKeySpec key;
  private final long rate;
  private final Duration interval;
  private final Clock clock;
  private final String prefix;

  public ClaimRateLimiter(RedissonClient redis, byte[] pepper, DirectorySettings settings, Clock clock) {
    this.redis = redis;
    this.key = new SecretKeySpec(pepper.clone(), HMAC);
    this.rate = settings.claimRate();
    this.interval = settings.claimInterval();
    this.clock = clock;
    this.prefix = "parley:claims:" + rate + "per" + interval.toMillis() + "ms:";
  }

  public CompletionStage<Decision> tryClaim(String accountId) {
    String name = prefix + hash(accountId);
    RRateLimiter limiter = redis.getRateLimiter(name);
    return attempt(limiter)
        // the limiter's keys can expire between setting the rate and acquiring: set it again once
        .exceptionallyCompose(failure -> attempt(limiter))
        .thenCompose(allowed -> allowed
            ? CompletableFuture.completedFuture(new Decision(true, 0))
            : retryAfter(name).thenApply(ms -> new Decision(false, ms)))
        .exceptionally(failure -> {
          log.warn("claim rate limit unavailable, letting the claim through: {}", failure.toString());
          return new Decision(true, 0);
        });
  }

  private CompletionStage<Boolean> attempt(RRateLimiter limiter) {
    // keys live for two intervals after the last claim, then Redis forgets the account
    return limiter.trySetRateAsync(RateType.OVERALL, rate, interval, interval.multipliedBy(2))
        .thenCompose(set -> limiter.tryAcquireAsync());
  }

  /**
   * Until the oldest claim in the window leaves it. Redisson keeps the window's claims in a sorted set
   * scored by claim time next to the limiter; without one, an even share of the interval.
   */
  private CompletionStage<Long> retryAfter(String name) {
    long evenShare = Math.max(1, interval.toMillis() / rate);
    return redis.getScoredSortedSet("{" + name + "}:permits", ByteArrayCodec.INSTANCE).firstScoreAsync()
        .thenApply(oldest -> oldest == null
            ? evenShare
            : Math.max(1, oldest.longValue() + interval.toMillis() - clock.millis()))
        .exceptionally(failure -> evenShare);
  }

  private String hash(String accountId) {
    try {
      Mac mac = Mac.getInstance(HMAC);
      mac.init(key);
      byte[] digest = mac.doFinal(("claim-limit:" + accountId).getBytes(StandardCharsets.UTF_8));
      return Base64.getUrlEncoder().withoutPadding().encodeToString(digest);
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException(e);
    }
  }
}
