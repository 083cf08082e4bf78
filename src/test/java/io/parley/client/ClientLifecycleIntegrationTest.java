package io.parley.client;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.parley.testing.NodeExtension;
import io.parley.testing.TcpProxy;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.WebSocket;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** What happens to a client across restarts, replacement, unlinking and a wrong store key. */
class ClientLifecycleIntegrationTest {
  @RegisterExtension
  static final NodeExtension parley = new NodeExtension(Map.of("parley.directory.claim-rate", 10_000));

  private static final AtomicInteger USERS = new AtomicInteger();

  @RegisterExtension
  final TestClients clients = TestClients.perTest(parley);

  private static String handle(String name) {
    return name + "-life-" + USERS.incrementAndGet();
  }

  @Test
  void sendsPendingAtCloseAreSentOnceAfterTheNextStart() {
    TestClients.Device alice = clients.start(clients.account(handle("alice")), 1);
    TestClients.Device bob = clients.start(clients.account(handle("bob")), 1);
    String c = "c-" + UUID.randomUUID();
    alice.client.createConversation(c, List.of(bob.id())).join();

    int count = 40;
    List<CompletableFuture<Long>> futures = new ArrayList<>();
    for (int i = 0; i < count; i++) {
      futures.add(alice.client.send(c, "pending " + i));
    }
    alice.client.close();
    long failedWithConnectionLost = futures.stream().filter(CompletableFuture::isCompletedExceptionally).count();
    // close() was queued behind the sends, so at least the last ones were still unacknowledged
    assertThat(failedWithConnectionLost).isPositive();
    for (CompletableFuture<Long> future : futures) {
      if (future.isCompletedExceptionally()) {
        assertThat(future).failsWithin(java.time.Duration.ZERO).withThrowableThat()
            .havingCause().isInstanceOf(ParleyClientException.ConnectionLost.class);
      } else {
        assertThat(future).isCompleted();
      }
    }

    TestClients.Device again = new TestClients.Device(alice.account, 1, alice.store, alice.key);
    clients.open(again);
    bob.awaitTexts(c, count);
    List<String> expected = new ArrayList<>();
    for (int i = 0; i < count; i++) {
      expected.add("pending " + i);
    }
    assertThat(bob.texts(c)).as("each once, in order").containsExactlyElementsOf(expected);
    Set<String> keys = new HashSet<>();
    alice.sent.forEach(s -> keys.add(s.idempotencyKey()));
    await().atMost(TestClients.WAIT).until(() -> again.sent.size() >= failedWithConnectionLost);
    again.sent.forEach(s -> keys.add(s.idempotencyKey()));
    assertThat(keys).as("every send acknowledged before or after the restart").hasSize(count);
  }

  @Test
  void anotherConnectionOfTheSameDeviceStopsTheClient() {
    var account = clients.account(handle("alice"));
    TestClients.Device alice = clients.start(account, 1);
    WebSocket intruder = HttpClient.newHttpClient().newWebSocketBuilder()
        .buildAsync(URI.create("ws://127.0.0.1:" + parley.port() + "/v1/ws"), new WebSocket.Listener() {}).join();
    ObjectNode hello = Json.object().put("type", "hello").put("token", account.token()).put("device", 1);
    hello.putObject("cursors");
    intruder.sendText(Json.write(hello), true).join();

    alice.awaitError(ParleyClientException.SessionReplaced.class, e -> true);
    await().atMost(TestClients.WAIT).until(() -> alice.client.connectionState() == ConnectionState.STOPPED);
    assertThat(alice.client.send("c-" + UUID.randomUUID(), "too late"))
        .failsWithin(TestClients.WAIT).withThrowableThat().havingCause()
        .isInstanceOf(ParleyClientException.Closed.class);
    intruder.abort();
  }

  @Test
  void anUnlinkedDevicePublishesItsKeysAgainAndKeepsChatting() throws Exception {
    var aliceAccount = clients.account(handle("alice"));
    TestClients.Device alice = clients.start(aliceAccount, 1);
    TestClients.Device bob = clients.start(clients.account(handle("bob")), 1);
    String c = "c-" + UUID.randomUUID();
    alice.client.createConversation(c, List.of(bob.id())).join();
    alice.client.send(c, "before").join();
    bob.awaitTexts(c, 1);

    HttpResponse<String> unlink = HttpClient.newHttpClient().send(HttpRequest.newBuilder(
            URI.create("http://127.0.0.1:" + parley.port() + "/v1/keys/devices/1"))
        .header("Authorization", "Bearer " + aliceAccount.token()).DELETE().build(),
        HttpResponse.BodyHandlers.ofString());
    assertThat(unlink.statusCode()).isEqualTo(204);

    await().atMost(TestClients.WAIT).until(() -> alice.states.lastIndexOf(ConnectionState.RECONNECTING) > 0
        && alice.client.connectionState() == ConnectionState.CONNECTED);
    bob.client.send(c, "after").join();
    alice.awaitTexts(c, 1);
    assertThat(alice.texts(c)).containsExactly("after");
  }

  @Test
  void theWrongStoreKeyFailsTheStartClearly() {
    TestClients.Device alice = clients.start(clients.account(handle("alice")), 1);
    alice.client.close();
    TestClients.Device thief = new TestClients.Device(alice.account, 1, alice.store, TestClients.randomKey());
    ParleyClient client = clients.builder(thief).build();
    assertThat(client.start()).failsWithin(TestClients.WAIT).withThrowableThat()
        .havingCause().isInstanceOf(ParleyClientException.StoreFailure.class)
        .withMessageContaining("wrong store key or passphrase");
    client.close();
  }

  @Test
  void theSignedPrekeysAreRotatedWhenDueAndOthersStillReachTheDevice() throws Exception {
    var bobAccount = clients.account(handle("bob"));
    TestClients.Device bob = clients.start(bobAccount, 1);
    bob.client.close();

    TestClients.Device later = new TestClients.Device(bobAccount, 1, bob.store, bob.key);
    clients.open(later, builder -> builder.clock(
        java.time.Clock.offset(java.time.Clock.systemUTC(), java.time.Duration.ofDays(8))));

    Directory directory = new Directory(HttpClient.newHttpClient(), URI.create("http://127.0.0.1:" + parley.port()),
        TokenSupplier.fixed(bobAccount.token()), java.time.Duration.ofSeconds(10));
    var bundle = directory.bundle(bobAccount.accountId(), 1);
    assertThat(bundle.path("signedPreKey").path("keyId").asInt()).as("the rotated signed prekey").isEqualTo(2);
    assertThat(bundle.path("kyberPreKey").path("keyId").asInt()).as("the rotated Kyber prekey").isEqualTo(2);

    TestClients.Device alice = clients.start(clients.account(handle("alice")), 1);
    String c = "c-" + UUID.randomUUID();
    alice.client.createConversation(c, List.of(bobAccount.accountId())).join();
    alice.client.send(c, "to the rotated keys").join();
    later.awaitTexts(c, 1);
    assertThat(later.texts(c)).containsExactly("to the rotated keys");
  }

  @Test
  void aConnectionThatSilentlyStopsPassingIsDetectedByHeartbeatsAndResumed() throws Exception {
    var aliceAccount = clients.account(handle("alice"));
    TestClients.Device bob = clients.start(clients.account(handle("bob")), 1);
    try (TcpProxy proxy = new TcpProxy(parley.port())) {
      TestClients.Device alice = new TestClients.Device(aliceAccount, 1, clients.root().resolve("alice-proxied"),
          TestClients.randomKey());
      clients.open(alice, builder -> builder.server(URI.create("http://127.0.0.1:" + proxy.port()))
          .heartbeatInterval(java.time.Duration.ofMillis(300)));
      String c = "c-" + UUID.randomUUID();
      alice.client.createConversation(c, List.of(bob.id())).join();
      alice.client.send(c, "before").join();

      proxy.swallowCurrentConnections();
      CompletableFuture<Long> during = alice.client.send(c, "while the network is gone");
      bob.client.send(c, "to a dead connection").join();

      assertThat(during.orTimeout(30, java.util.concurrent.TimeUnit.SECONDS).join()).isPositive();
      alice.awaitTexts(c, 1);
      bob.awaitTexts(c, 2);
      assertThat(alice.texts(c)).containsExactly("to a dead connection");
      assertThat(bob.texts(c)).containsExactly("before", "while the network is gone");
      assertThat(alice.states).contains(ConnectionState.RECONNECTING);
    }
  }
}

