package io.parley.presence;

import io.parley.config.ParleySettings.PresenceSettings;
import io.parley.observability.Metrics;
import io.parley.redis.KeyedHash;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;
import org.redisson.api.BatchOptions;
import org.redisson.api.RBatch;
import org.redisson.api.RFuture;
import org.redisson.api.RScript;
import org.redisson.api.RScriptAsync;
import org.redisson.api.RedissonClient;
import org.redisson.client.codec.StringCodec;

/**
 * Presence in Redis (ADR 0011). Per user, under an HMAC of the account id (never the id itself):
 * <ul>
 *   <li>{@code parley:presence:{h}:nodes}, a sorted set of the nodes holding a connection of the user,
 *       each scored with the time its entry expires. A node's heartbeat pushes its expiry {@code ttl} ahead,
 *       and the whole key expires {@code ttl} after the last heartbeat of any node. The user is online while
 *       any entry has not expired, so a lost node's users go offline by themselves.</li>
 *   <li>{@code parley:presence:{h}:seen}, the time of the last heartbeat or of the last device leaving,
 *       kept {@code lastSeenTtl}: after a node is lost, last-seen is its last heartbeat.</li>
 * </ul>
 * Times are the Redis server's clock, so nodes' clocks never disagree about expiry. Values are node ids
 * (random per node start) and epoch milliseconds: no account id. Each operation is one Lua script, so
 * concurrent nodes cannot interleave inside one.
 */
public final class PresenceStore {

  /** What a user's presence is: {@code lastSeen} only when offline, null when never seen (or unknown). */
  public record Status(String user, boolean online, Long lastSeen) {
    static Status unknown(String user) {
      return new Status(user, false, null);
    }
  }

  private static final String NOW = """
      local t = redis.call('TIME')
      local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
      local nowText = string.format('%d', now)
      """;

  /** ARGV: node, ttl ms, last-seen ttl ms. Returns whether the user was online before (any live node). */
  private static final String BEAT = NOW + """
      local live = redis.call('ZCOUNT', KEYS[1], '(' .. nowText, '+inf')
      redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', nowText)
      redis.call('ZADD', KEYS[1], string.format('%d', now + tonumber(ARGV[2])), ARGV[1])
      redis.call('PEXPIRE', KEYS[1], ARGV[2])
      redis.call('SET', KEYS[2], nowText, 'PX', ARGV[3])
      return {tostring(live)}
      """;

  /** ARGV: node, last-seen ttl ms. Returns {online after, now}. */
  private static final String LEAVE = NOW + """
      redis.call('ZREM', KEYS[1], ARGV[1])
      local live = redis.call('ZCOUNT', KEYS[1], '(' .. nowText, '+inf')
      if live == 0 then
        redis.call('DEL', KEYS[1])
        redis.call('SET', KEYS[2], nowText, 'PX', ARGV[2])
        return {'0', nowText}
      end
      return {'1', nowText}
      """;

  /** Returns {online, last seen or ''}. */
  private static final String READ = NOW + """
      local live = redis.call('ZCOUNT', KEYS[1], '(' .. nowText, '+inf')
      local seen = redis.call('GET', KEYS[2])
      return {tostring(live), seen or ''}
      """;

  private final RedissonClient redis;
  private final KeyedHash hash;
  private final String node;
  private final String ttlMs;
  private final String lastSeenTtlMs;
  private final long timeoutMs;
  private final long writeTimeoutMs;

  public PresenceStore(RedissonClient redis, KeyedHash hash, PresenceSettings settings, String node) {
    this.redis = redis;
    this.hash = hash;
    this.node = node;
    this.ttlMs = Long.toString(settings.ttl().toMillis());
    this.lastSeenTtlMs = Long.toString(settings.lastSeenTtl().toMillis());
    this.timeoutMs = settings.redisTimeout().toMillis();
    // a batch of thousands of writes takes longer than one read; it must still end well within the ttl
    this.writeTimeoutMs = Math.max(timeoutMs, settings.ttl().toMillis() / 3);
  }

  /**
   * Refreshes this node's entry of every user in one round trip. Answers, per user, whether the user was
   * online before this heartbeat (false: the user has just come online).
   */
  public CompletionStage<Map<String, Boolean>> beat(Collection<String> users) {
    return batch(users, (script, user) -> script.evalAsync(RScript.Mode.READ_WRITE, BEAT, RScript.ReturnType.LIST,
            keys(user), node, ttlMs, lastSeenTtlMs),
        (user, result) -> !"0".equals(result.get(0)));
  }

  /** This node holds no connection of {@code user} any more; answers the user's presence after that. */
  public CompletionStage<Status> leave(String user) {
    return write(List.of(new Leave(user))).thenApply(written -> ((Left) written.get(0)).after());
  }

  /** A write of this node's presence entries: a user arrived here (or is still here), or left. */
  public sealed interface Write {
    String user();
  }

  public record Beat(String user) implements Write {}

  public record Leave(String user) implements Write {}

  /** What one write found: {@link Beaten} or {@link Left}. */
  public sealed interface Written {
    String user();
  }

  /** {@code wasOnline}: whether the user was online (through any node) before this beat. */
  public record Beaten(String user, boolean wasOnline) implements Written {}

  /** The user's presence after this node's leave. */
  public record Left(String user, Status after) implements Written {
    @Override
    public String user() {
      return after.user();
    }
  }

  /**
   * Applies {@code writes} in their order, all in one round trip on one Redis connection, whatever their
   * number: a thousand devices arriving or leaving at once take one pooled connection, not a thousand.
   * Answers what each found, in the same order.
   */
  public CompletionStage<List<Written>> write(List<? extends Write> writes) {
    if (writes.isEmpty()) {
      return CompletableFuture.completedFuture(List.of());
    }
    // never retried: a repeated batch would find its own beats and report arrivals as already online; a
    // failed batch is counted, and the next heartbeat writes the users still here again
    RBatch batch = redis.createBatch(BatchOptions.defaults()
        .responseTimeout(writeTimeoutMs, TimeUnit.MILLISECONDS)
        .retryAttempts(0));
    RScriptAsync script = batch.getScript(StringCodec.INSTANCE);
    List<RFuture<List<Object>>> results = new ArrayList<>(writes.size());
    for (Write write : writes) {
      results.add(write instanceof Leave
          ? script.evalAsync(RScript.Mode.READ_WRITE, LEAVE, RScript.ReturnType.LIST, keys(write.user()), node,
              lastSeenTtlMs)
          : script.evalAsync(RScript.Mode.READ_WRITE, BEAT, RScript.ReturnType.LIST, keys(write.user()), node,
              ttlMs, lastSeenTtlMs));
    }
    return batch.executeAsync().thenApply(done -> {
      List<Written> written = new ArrayList<>(writes.size());
      for (int i = 0; i < writes.size(); i++) {
        Write write = writes.get(i);
        List<Object> result = results.get(i).toCompletableFuture().join();
        written.add(write instanceof Leave
            ? new Left(write.user(), "1".equals(result.get(0))
                ? new Status(write.user(), true, null)
                : new Status(write.user(), false, Long.parseLong((String) result.get(1))))
            : new Beaten(write.user(), !"0".equals(result.get(0))));
      }
      return written;
    });
  }

  /**
   * The presence of every user in one round trip. When Redis does not answer within the timeout, every user
   * reads as offline with no last-seen: presence degrades, nothing fails.
   */
  public CompletionStage<List<Status>> read(Collection<String> users) {
    return batch(users, (script, user) -> script.evalAsync(RScript.Mode.READ_ONLY, READ, RScript.ReturnType.LIST,
            keys(user)),
        PresenceStore::status)
        .thenApply(byUser -> users.stream().map(byUser::get).toList())
        .toCompletableFuture()
        .orTimeout(timeoutMs, TimeUnit.MILLISECONDS)
        .exceptionally(failure -> {
          failed();
          return users.stream().map(Status::unknown).toList();
        });
  }

  /** Counts a Redis operation that failed or timed out, where operators see it. */
  void failed() {
    Metrics.presenceFailed();
  }

  private static Status status(String user, List<Object> result) {
    if (!"0".equals(result.get(0))) {
      return new Status(user, true, null);
    }
    String seen = (String) result.get(1);
    return new Status(user, false, seen.isEmpty() ? null : Long.parseLong(seen));
  }

  private interface Call {
    RFuture<List<Object>> on(RScriptAsync script, String user);
  }

  private interface Parse<T> {
    T from(String user, List<Object> result);
  }

  private <T> CompletionStage<Map<String, T>> batch(Collection<String> users, Call call, Parse<T> parse) {
    if (users.isEmpty()) {
      return CompletableFuture.completedFuture(Map.of());
    }
    RBatch batch = redis.createBatch();
    RScriptAsync script = batch.getScript(StringCodec.INSTANCE);
    List<String> order = new ArrayList<>(users);
    List<RFuture<List<Object>>> results = new ArrayList<>(order.size());
    for (String user : order) {
      results.add(call.on(script, user));
    }
    return batch.executeAsync().thenApply(done -> {
      Map<String, T> byUser = new HashMap<>();
      for (int i = 0; i < order.size(); i++) {
        byUser.put(order.get(i), parse.from(order.get(i), results.get(i).toCompletableFuture().join()));
      }
      return byUser;
    });
  }

  private List<Object> keys(String user) {
    String tag = "parley:presence:{" + hash.of("presence", user) + "}:";
    return List.of(tag + "nodes", tag + "seen");
  }
}
