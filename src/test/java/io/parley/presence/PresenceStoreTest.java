package io.parley.presence;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.parley.config.ParleySettings.PresenceSettings;
import io.parley.presence.PresenceStore.Status;
import io.parley.redis.KeyedHash;
import io.parley.redis.RedisExtension;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.redisson.api.RedissonClient;

/** Two nodes' presence writers on one real Redis: multi-node devices, and a node that is lost. */
class PresenceStoreTest {
  @RegisterExtension static final RedisExtension redis = new RedisExtension();

  private static final String ALICE = "u_AliceAliceAliceAlice0";
  private static final PresenceSettings SHORT = new PresenceSettings(Duration.ofMillis(800), Duration.ofMillis(200),
      Duration.ofDays(30), Duration.ofMillis(200), Duration.ofSeconds(1));
  private final KeyedHash hash = new KeyedHash("p".repeat(32).getBytes(StandardCharsets.UTF_8));

  private PresenceStore node(String id) {
    return new PresenceStore(redis.connection().client(), hash, SHORT, id);
  }

  private Status read(PresenceStore store) {
    return store.read(List.of(ALICE)).toCompletableFuture().join().get(0);
  }

  @Test
  void aUserNeverSeenIsOfflineWithoutLastSeen() {
    assertThat(read(node("a"))).isEqualTo(new Status(ALICE, false, null));
  }

  @Test
  void onlineWhileAnyNodeHoldsADeviceAndLastSeenWhenTheLastLeaves() {
    PresenceStore a = node("a");
    PresenceStore b = node("b");
    assertThat(a.beat(List.of(ALICE)).toCompletableFuture().join()).containsEntry(ALICE, false);
    assertThat(b.beat(List.of(ALICE)).toCompletableFuture().join()).as("already online through a")
        .containsEntry(ALICE, true);

    assertThat(a.leave(ALICE).toCompletableFuture().join().online()).as("b still holds a device").isTrue();
    assertThat(read(a).online()).isTrue();

    long before = redisMillis();
    Status left = b.leave(ALICE).toCompletableFuture().join();
    assertThat(left.online()).isFalse();
    assertThat(left.lastSeen()).isBetween(before - 5, redisMillis() + 5);
    assertThat(read(a)).isEqualTo(left);
  }

  @Test
  void aLostNodesUsersGoOfflineAfterTheTtlWithTheLastHeartbeatAsLastSeen() {
    PresenceStore lost = node("lost");
    lost.beat(List.of(ALICE)).toCompletableFuture().join();
    long lastBeat = redisMillis();
    PresenceStore other = node("other");
    assertThat(read(other).online()).isTrue();

    // the lost node never beats or leaves again
    Status after = await().atMost(Duration.ofSeconds(5)).until(() -> read(other), status -> !status.online());
    assertThat(after.lastSeen()).isBetween(lastBeat - 50, lastBeat + 5);
    assertThat(redisMillis()).isGreaterThanOrEqualTo(lastBeat + SHORT.ttl().toMillis());
  }

  @Test
  void keysAndValuesNeverHoldTheAccountId() {
    PresenceStore a = node("a");
    a.beat(List.of(ALICE)).toCompletableFuture().join();
    RedissonClient client = redis.connection().client();
    List<String> keys = client.getKeys().getKeysStream().toList();
    assertThat(keys).hasSize(2).allMatch(key -> key.startsWith("parley:presence:{")).noneMatch(k -> k.contains(ALICE));
    assertThat(RedisContents.everything(client)).doesNotContain(ALICE);
  }

  private long redisMillis() {
    org.redisson.client.protocol.Time time = redis.connection().client()
        .getRedisNodes(org.redisson.api.redisnode.RedisNodes.SINGLE).getInstance().time();
    return time.getSeconds() * 1000L + time.getMicroseconds() / 1000;
  }

  @Test
  void thousandsOfArrivalsAndDeparturesGoInOneBatchAndKeepTheirOrder() {
    // entries that outlive a slow machine: this test is about order, not expiry
    PresenceStore a = new PresenceStore(redis.connection().client(), hash, new PresenceSettings(Duration.ofMinutes(1),
        Duration.ofSeconds(10), Duration.ofDays(30), Duration.ofSeconds(10), Duration.ofSeconds(10)), "a");
    List<String> users = java.util.stream.IntStream.range(0, 2_000).mapToObj(i -> "u_Mass" + i).toList();
    List<PresenceStore.Write> writes = new java.util.ArrayList<>();
    for (String user : users) {
      writes.add(new PresenceStore.Beat(user));
    }
    for (String user : users.subList(0, 1_000)) {
      writes.add(new PresenceStore.Leave(user));
    }

    List<PresenceStore.Written> written = a.write(writes).toCompletableFuture().join();

    assertThat(written).hasSize(3_000);
    assertThat(written.subList(0, 2_000)).allMatch(w -> w instanceof PresenceStore.Beaten beaten && !beaten.wasOnline());
    assertThat(written.subList(2_000, 3_000)).as("each leave after its user's beat")
        .allMatch(w -> w instanceof PresenceStore.Left left && !left.after().online() && left.after().lastSeen() != null);
    List<Status> after = a.read(List.of(users.get(0), users.get(1_999))).toCompletableFuture().join();
    assertThat(after.get(0).online()).isFalse();
    assertThat(after.get(1).online()).isTrue();
  }
}
