package io.parley.agent.events;

import io.parley.redis.KeyedHash;
import java.time.Duration;
import java.util.concurrent.CompletionStage;
import org.redisson.api.RBucket;
import org.redisson.api.RedissonClient;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The ids of agent replies already accepted, shared by every node through Redis so an agent's retry is
 * answered "duplicate" without reaching the gateway again. Keys are {@code parley:agent-event:} and a keyed
 * hash of agent id and event id; each expires (24 h for final replies). This is the first of two layers:
 * the conversation's own idempotency-key dedup stays authoritative, so Redis being unreachable costs a call
 * to the gateway, never a duplicate message.
 */
public final class AcceptedEvents {
  private static final Logger log = LoggerFactory.getLogger(AcceptedEvents.class);
  static final String PREFIX = "parley:agent-event:";

  private final RedissonClient redis;
  private final KeyedHash hash;

  public AcceptedEvents(RedissonClient redis, KeyedHash hash) {
    this.redis = redis;
    this.hash = hash;
  }

  /** Whether this agent's event id was accepted before; false when Redis cannot tell. */
  public CompletionStage<Boolean> wasAccepted(String agentId, String eventId) {
    return bucket(agentId, eventId).isExistsAsync().exceptionally(e -> {
      log.warn("Cannot read accepted agent events from Redis ({}); the gateway's dedup decides", e.toString());
      return false;
    });
  }

  /** Remembers the event id for {@code ttl}; a failure is logged, not raised. */
  public CompletionStage<Void> markAccepted(String agentId, String eventId, Duration ttl) {
    return bucket(agentId, eventId).setAsync("1", ttl).exceptionally(e -> {
      log.warn("Cannot mark an accepted agent event in Redis ({})", e.toString());
      return null;
    });
  }

  String keyOf(String agentId, String eventId) {
    return PREFIX + hash.of("agent-event", agentId + ":" + eventId);
  }

  private RBucket<String> bucket(String agentId, String eventId) {
    return redis.getBucket(keyOf(agentId, eventId));
  }
}
