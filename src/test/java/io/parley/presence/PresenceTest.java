package io.parley.presence;

import static io.parley.testing.Chat.newConversationId;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.parley.ParleyNode;
import io.parley.config.ParleySettings.RedisSettings;
import io.parley.protocol.ClientFrame;
import io.parley.protocol.ServerFrame;
import io.parley.redis.RedisConnection;
import io.parley.testing.Chat;
import io.parley.testing.DevAccounts;
import io.parley.testing.DevAccounts.Account;
import io.parley.testing.NodeProcess;
import io.parley.testing.TestKeys;
import io.parley.testing.TestNode;
import io.parley.testing.WsClient;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Presence through a real node and a real Redis: what contacts see, what they may ask, what Redis holds. */
class PresenceTest {
  static final Duration TTL = Duration.ofMillis(1500);
  static final Duration SEEN = Duration.ofSeconds(10);

  @TempDir static Path dir;
  private static RedisConnection redis;
  private static ParleyNode node;
  private static int port;
  private final List<WsClient> clients = new ArrayList<>();

  /** Short presence timings, so that expiry shows within a test. */
  static Map<String, Object> presenceConfig(String redisUrl) {
    return Map.of(
        "parley.redis.url", redisUrl,
        "parley.presence.ttl", TTL.toMillis() + "ms",
        "parley.presence.heartbeat-interval", "300ms",
        "parley.presence.sweep-interval", "200ms");
  }

  @BeforeAll
  static void start() {
    int redisPort = NodeProcess.freePort();
    redis = RedisConnection.start(new RedisSettings("", redisPort));
    java.util.HashMap<String, Object> config = new java.util.HashMap<>(presenceConfig("redis://127.0.0.1:" + redisPort));
    // limits on, so that their keys are in Redis too when the test looks for account ids there
    config.put("parley.rate-limits.enabled", true);
    // generous, and slow to refill: a limit's key lives until its bucket is full again (ADR 0021), so these
    // keys stay in Redis long enough for the scan of its contents below
    for (String limit : List.of("send-burst", "send-sustained", "connect")) {
      config.put("parley.rate-limits." + limit + ".permits", 1_000);
      config.put("parley.rate-limits." + limit + ".interval", "10h");
    }
    node = TestNode.start(dir, config);
    port = node.httpAddress().getPort();
  }

  @AfterAll
  static void stop() {
    TestNode.stop(node);
    redis.close();
  }

  @AfterEach
  void closeClients() {
    clients.forEach(WsClient::close);
  }

  private WsClient connect(Account account, int device) {
    WsClient client = Chat.connect(port, account, device, Map.of());
    clients.add(client);
    return client;
  }

  private static Account login(String name) {
    return DevAccounts.login(port, name + "-" + UUID.randomUUID().toString().substring(0, 8));
  }

  private static ServerFrame.Presences ask(WsClient client, String... users) {
    String requestId = "p-" + UUID.randomUUID();
    client.send(new ClientFrame.PresenceQuery(requestId, List.of(users)));
    return client.await(ServerFrame.Presences.class, p -> p.requestId().equals(requestId));
  }

  @Test
  void aContactSeesOnlineThenOfflineWithLastSeen() {
    Account alice = login("alice");
    Account bob = login("bob");
    WsClient b = connect(bob, 1);
    WsClient a = connect(alice, 1);
    Chat.create(a, newConversationId(), List.of(bob.accountId()));

    // the new conversation makes them contacts: each is shown the other, online
    assertThat(b.presence(p -> p.user().equals(alice.accountId()), WsClient.WAIT).online()).isTrue();
    ServerFrame.Presence bobAsSeen = a.presence(p -> p.user().equals(bob.accountId()), WsClient.WAIT);
    assertThat(bobAsSeen.online()).isTrue();
    assertThat(bobAsSeen.lastSeen()).isNull();

    long beforeLeaving = System.currentTimeMillis();
    a.close();
    ServerFrame.Presence gone = b.presence(p -> p.user().equals(alice.accountId()) && !p.online(), WsClient.WAIT);
    assertThat(gone.lastSeen()).isBetween(beforeLeaving - 1_000, System.currentTimeMillis() + 1_000);

    ServerFrame.Presence asked = ask(b, alice.accountId()).users().get(0);
    assertThat(asked).isEqualTo(new ServerFrame.Presence(alice.accountId(), false, gone.lastSeen()));

    // a device that connects later is shown its contacts' presence at once
    WsClient again = connect(alice, 1);
    assertThat(again.presence(p -> p.user().equals(bob.accountId()), WsClient.WAIT).online()).isTrue();
    assertThat(b.presence(p -> p.user().equals(alice.accountId()), WsClient.WAIT).online()).isTrue();
  }

  @Test
  void onlineWhileAnyDeviceIsConnected() {
    Account alice = login("alice");
    Account bob = login("bob");
    WsClient b = connect(bob, 1);
    WsClient phone = connect(alice, 1);
    WsClient laptop = connect(alice, 2);
    Chat.create(phone, newConversationId(), List.of(bob.accountId()));
    assertThat(b.presence(p -> p.user().equals(alice.accountId()), WsClient.WAIT).online()).isTrue();

    phone.close();
    // longer than the ttl: had the phone's leave taken alice offline, a read would show it
    await().during(TTL.plusMillis(500)).atMost(TTL.multipliedBy(3))
        .until(() -> ask(b, alice.accountId()).users().get(0).online());
    assertThat(b.drainPresence(Duration.ofMillis(100))).noneMatch(p -> !p.online());

    laptop.close();
    ServerFrame.Presence gone = b.presence(p -> p.user().equals(alice.accountId()) && !p.online(), WsClient.WAIT);
    assertThat(gone.lastSeen()).isNotNull();
  }

  @Test
  void onlyContactsPresenceIsAnswered() {
    Account alice = login("alice");
    Account bob = login("bob");
    Account stranger = login("stranger");
    WsClient s = connect(stranger, 1);
    WsClient a = connect(alice, 1);
    Chat.create(a, newConversationId(), List.of(bob.accountId()));

    String requestId = "p-" + UUID.randomUUID();
    s.send(new ClientFrame.PresenceQuery(requestId, List.of(alice.accountId())));
    ServerFrame.Error refused = s.await(ServerFrame.Error.class, e -> requestId.equals(e.requestId()));
    assertThat(refused.code()).isEqualTo("not_participant");

    // one stranger among contacts: nothing is answered
    String mixed = "p-" + UUID.randomUUID();
    a.send(new ClientFrame.PresenceQuery(mixed, List.of(bob.accountId(), stranger.accountId())));
    assertThat(a.await(ServerFrame.Error.class, e -> mixed.equals(e.requestId())).code()).isEqualTo("not_participant");

    assertThat(ask(a, bob.accountId()).users()).containsExactly(new ServerFrame.Presence(bob.accountId(), false, null));
    assertThat(s.drainPresence(Duration.ofMillis(300))).as("strangers are shown nothing").isEmpty();
  }

  @Test
  void redisHoldsNoAccountIdOrHandle() {
    Account alice = login("alice");
    Account bob = login("bob");
    WsClient b = connect(bob, 1);
    WsClient a = connect(alice, 1);
    String conversation = newConversationId();
    Chat.create(a, conversation, List.of(bob.accountId()));
    Chat.sendUntilAcked(a, Chat.send(conversation, Chat.newKey(), bob, "hello"));
    TestKeys.claimAll(port, alice.token(), bob.accountId());
    b.presence(p -> p.user().equals(alice.accountId()), WsClient.WAIT);
    a.close();
    b.presence(p -> p.user().equals(alice.accountId()) && !p.online(), WsClient.WAIT);

    // the send reaches Redis with the node's next settle of its limits (ADR 0024), not at once
    await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> assertThat(RedisContents.everything(redis.client()))
        .contains("parley:presence:", "parley:sends:", "parley:connects:", "parley:claims:"));
    String contents = RedisContents.everything(redis.client());
    for (Account account : List.of(alice, bob)) {
      assertThat(contents).doesNotContain(account.accountId()).doesNotContain(account.handle());
    }
  }
}
