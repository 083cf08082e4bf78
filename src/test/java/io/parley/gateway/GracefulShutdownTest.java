package io.parley.gateway;

import static io.parley.testing.Chat.envelope;
import static io.parley.testing.Chat.newConversationId;
import static io.parley.testing.Chat.newKey;
import static io.parley.testing.Chat.resume;
import static io.parley.testing.Chat.sendUntilAcked;
import static io.parley.testing.Chat.text;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.parley.ParleyNode;
import io.parley.protocol.ClientFrame;
import io.parley.protocol.ServerFrame;
import io.parley.testing.Burst;
import io.parley.testing.Chat;
import io.parley.testing.DevAccounts;
import io.parley.testing.DevAccounts.Account;
import io.parley.testing.NodeProcess;
import io.parley.testing.Receiver;
import io.parley.testing.TestNode;
import io.parley.testing.WsClient;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A node stopped through coordinated shutdown turns unready, tells each connected client to reconnect
 * and closes it with 1012; a new node on the same data dir gives each returning client only what it lacks.
 */
class GracefulShutdownTest {
  private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
  private static final Duration STOP = Duration.ofSeconds(60);
  private static final int BURST = 1_000;
  private static final int ACKS_READ_BEFORE_STOP = 50;

  @TempDir Path dataDir;
  private final List<ParleyNode> nodes = new ArrayList<>();
  private final List<WsClient> clients = new ArrayList<>();

  @AfterEach
  void cleanUp() {
    clients.forEach(WsClient::close);
    nodes.forEach(node -> {
      if (!node.system().getWhenTerminated().toCompletableFuture().isDone()) {
        TestNode.stop(node);
      }
    });
  }

  @Test
  void connectedClientsAreToldToReconnectAndResumeOnTheNextNodeWithNothingMissingOrRepeated() throws Exception {
    int managementPort = NodeProcess.freePort();
    Map<String, Object> overrides = Map.of("pekko.management.http.port", managementPort);
    ParleyNode first = start(overrides);
    int port = first.httpAddress().getPort();
    await().atMost(Duration.ofSeconds(30)).until(() -> status(managementPort, "/ready") == 200);
    assertThat(status(managementPort, "/alive")).isEqualTo(200);

    Account alice = DevAccounts.login(port, "alice-graceful");
    Account bob = DevAccounts.login(port, "bob-graceful");
    String id = newConversationId();
    WsClient a = track(resume(port, alice, 1, Map.of()));
    WsClient b1 = track(resume(port, bob, 1, Map.of()));
    WsClient b2 = track(resume(port, bob, 2, Map.of()));
    assertThat(Chat.create(a, id, List.of(bob.accountId())).seq()).isEqualTo(1);
    for (WsClient client : List.of(a, b1, b2)) {
      assertThat(client.await(ServerFrame.Member.class, m -> m.conversationId().equals(id)).seq()).isEqualTo(1);
    }

    // bob's second device goes offline after seq 3; the others stay connected and see everything
    sendAll(a, id, bob, "m1", "m2");
    assertThat(b2.next(ServerFrame.Message.class).seq()).isEqualTo(2);
    assertThat(b2.next(ServerFrame.Message.class).seq()).isEqualTo(3);
    b2.send(new ClientFrame.DeliveryAck(id, 3));
    b2.close();
    sendAll(a, id, bob, "m3", "m4", "m5");
    for (long seq = 2; seq <= 6; seq++) {
      assertThat(b1.next(ServerFrame.Message.class).seq()).isEqualTo(seq);
    }
    b1.send(new ClientFrame.DeliveryAck(id, 6));

    long stopAt = System.nanoTime();
    CompletableFuture<Void> stopping = CompletableFuture.runAsync(() -> first.stop(STOP));
    for (WsClient client : List.of(a, b1)) {
      // alice may still have echoes of her own sends queued before the reconnect
      ServerFrame.Reconnect reconnect = client.await(ServerFrame.Reconnect.class, r -> true);
      assertThat(reconnect.retryAfterMs()).isPositive();
      assertThat(reconnect.reason()).isEqualTo("server_restart");
      if (client == a) {
        // pekko-management answers a failing readiness check with 500 "Not Healthy: ..."
        HttpResponse<String> ready = get(managementPort, "/ready");
        assertThat(ready.statusCode()).as("readiness while shutting down").isEqualTo(500);
        assertThat(ready.body()).startsWith("Not Healthy");
      }
      assertThat(client.next(ServerFrame.Close.class).code()).isEqualTo(Connection.CLOSE_SERVICE_RESTART);
      assertThat(client.awaitClose()).isEqualTo(1000);
    }
    long closedAt = System.nanoTime();
    stopping.get(STOP.toSeconds(), TimeUnit.SECONDS);
    long stoppedAt = System.nanoTime();
    assertThat(status(managementPort, "/ready")).as("no readiness endpoint once stopped").isEqualTo(-1);

    ParleyNode second = start(overrides);
    int newPort = second.httpAddress().getPort();
    long upAt = System.nanoTime();
    await().atMost(Duration.ofSeconds(30)).until(() -> status(managementPort, "/ready") == 200);

    // each client says hello with its cursors and gets nothing it already has
    WsClient a2 = track(resume(newPort, alice, 1, Map.of(id, 6L)));
    long resumedAt = System.nanoTime();
    WsClient b1Again = track(resume(newPort, bob, 1, Map.of(id, 6L)));
    WsClient b2Again = track(resume(newPort, bob, 2, Map.of(id, 3L)));
    List<String> missed = new ArrayList<>();
    for (long seq = 4; seq <= 6; seq++) {
      ServerFrame.Message message = b2Again.next(ServerFrame.Message.class);
      assertThat(message.seq()).isEqualTo(seq);
      missed.add(text(message));
    }
    assertThat(missed).containsExactly("m3", "m4", "m5");

    for (WsClient client : List.of(a2, b1Again)) {
      assertThat(client.poll(Duration.ofMillis(500))).as("nothing replayed up to the cursor").isNull();
    }

    String key = newKey();
    assertThat(sendUntilAcked(a2, toBothDevices(id, key, bob, "after the restart")))
        .isEqualTo(new ServerFrame.Ack(id, key, 7, false));
    for (WsClient client : List.of(b1Again, b2Again)) {
      ServerFrame.Message next = client.next(ServerFrame.Message.class);
      assertThat(next.seq()).as("the first frame after the resume point").isEqualTo(7);
      assertThat(text(next)).isEqualTo("after the restart");
    }
    for (WsClient client : List.of(b1Again, b2Again)) {
      assertThat(client.poll(Duration.ofMillis(300))).as("nothing else").isNull();
    }

    System.out.printf("GracefulShutdownTest: clients closed %d ms after stop; node stopped after %d ms; "
            + "new node up %d ms later; client-visible pause (close to welcome) %d ms%n",
        (closedAt - stopAt) / 1_000_000, (stoppedAt - stopAt) / 1_000_000, (upAt - stoppedAt) / 1_000_000,
        (resumedAt - closedAt) / 1_000_000);
  }

  @Test
  void aBurstInFlightDuringTheShutdownIsStoredOnceAndDeliveredInOrderByTheNextNode() throws Exception {
    ParleyNode first = start(Map.of());
    int port = first.httpAddress().getPort();
    Account alice = DevAccounts.login(port, "alice-burst");
    Account bob = DevAccounts.login(port, "bob-burst");
    String id = newConversationId();
    Receiver receiver = new Receiver(id);
    receiver.listen(track(resume(port, bob, 1, Map.of())));
    WsClient sender = track(resume(port, alice, 1, Map.of()));
    assertThat(Chat.create(sender, id, List.of(bob.accountId())).seq()).isEqualTo(1);

    Burst burst = new Burst(id, bob, BURST);
    Thread sending = burst.send(sender);
    burst.readAcks(sender, ACKS_READ_BEFORE_STOP);
    long stopAt = System.nanoTime();
    CompletableFuture<Void> stopping = CompletableFuture.runAsync(() -> first.stop(STOP));
    assertThat(burst.readAcksUntilClose(sender).code()).isEqualTo(Connection.CLOSE_SERVICE_RESTART);
    receiver.awaitClosed(STOP);
    stopping.get(STOP.toSeconds(), TimeUnit.SECONDS);
    sending.join(STOP.toMillis());
    assertThat(sending.isAlive()).isFalse();
    Map<String, Burst.Outgoing> unacked = burst.unacked();
    assertThat(unacked).as("the shutdown came while the burst was in flight").isNotEmpty();
    long deliveredBeforeStop = receiver.messages();

    ParleyNode second = start(Map.of());
    int newPort = second.httpAddress().getPort();
    receiver.listen(track(resume(newPort, bob, 1, Map.of(id, receiver.lastSeq()))));
    long senderCursor = burst.acked().values().stream().mapToLong(ServerFrame.Ack::seq).max().orElseThrow();
    Burst.Retried retried = burst.retryUnacked(track(resume(newPort, alice, 1, Map.of(id, senderCursor))));
    await().atMost(Duration.ofSeconds(60)).until(() -> receiver.lastSeq() >= 1 + BURST);
    receiver.stop(STOP);

    burst.assertDeliveredOnceInOrder(receiver.delivered(), 1 + BURST);
    // before saying goodbye the node answered every send it had taken: a retry finds a stored message
    // only where the first answer was an error (a timeout), never where the answer was simply cut off
    assertThat(retried.acks().entrySet()).filteredOn(entry -> entry.getValue().duplicate())
        .extracting(Map.Entry::getKey)
        .allMatch(burst.failed()::contains);
    System.out.printf("GracefulShutdownTest burst: %d acked before the close, %d delivered before it, %d retried "
            + "(%d duplicates); stop to first ack of a retry %d ms%n",
        BURST - unacked.size(), deliveredBeforeStop, unacked.size(), retried.duplicates(),
        (retried.firstAckAt() - stopAt) / 1_000_000);
  }

  private static void sendAll(WsClient sender, String id, Account to, String... texts) {
    for (String text : texts) {
      sendUntilAcked(sender, toBothDevices(id, newKey(), to, text));
    }
  }

  private static ClientFrame.Send toBothDevices(String id, String key, Account to, String text) {
    return new ClientFrame.Send(id, key, List.of(envelope(to, 1, text), envelope(to, 2, text)));
  }

  /** The HTTP status of a management route, or -1 when nothing answers. */
  private static int status(int managementPort, String path) {
    try {
      return get(managementPort, path).statusCode();
    } catch (IllegalStateException nothingAnswers) {
      return -1;
    }
  }

  private static HttpResponse<String> get(int managementPort, String path) {
    try {
      return HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + managementPort + path))
          .timeout(Duration.ofSeconds(5)).GET().build(), HttpResponse.BodyHandlers.ofString());
    } catch (IOException e) {
      throw new IllegalStateException("nothing answers on the management port", e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  private ParleyNode start(Map<String, Object> overrides) {
    ParleyNode node = TestNode.start(dataDir, overrides);
    nodes.add(node);
    return node;
  }

  private WsClient track(WsClient client) {
    clients.add(client);
    return client;
  }
}
