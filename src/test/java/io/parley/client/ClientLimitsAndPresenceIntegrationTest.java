package io.parley.client;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.parley.testing.NodeExtension;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** The SDK against a node with a tight send limit and short presence timings. */
class ClientLimitsAndPresenceIntegrationTest {
  @RegisterExtension
  static final NodeExtension parley = new NodeExtension(Map.of(
      "parley.directory.claim-rate", 10_000,
      "parley.rate-limits.enabled", true,
      "parley.rate-limits.send-burst.permits", 2,
      "parley.rate-limits.send-burst.interval", "500ms",
      "parley.rate-limits.connect.permits", 10_000,
      "parley.rate-limits.redis-timeout", "10s",
      "parley.presence.ttl", "1500ms",
      "parley.presence.heartbeat-interval", "300ms",
      "parley.presence.sweep-interval", "200ms"));

  @RegisterExtension
  final TestClients clients = TestClients.perTest(parley);

  @org.junit.jupiter.api.BeforeAll
  static void warmUp() {
    // a node that has just started may answer its first key registrations 503; Chat.register asks again
    io.parley.testing.Chat.register(parley.port(),
        io.parley.testing.DevAccounts.login(parley.port(), handle("warm-up")), 1);
  }

  private static String handle(String name) {
    return name + "-" + UUID.randomUUID().toString().substring(0, 8);
  }

  @Test
  void rateLimitedSendsAreRetriedAfterTheDelayAndStoredOnceEach() {
    TestClients.Device alice = clients.start(clients.account(handle("alice")), 1);
    TestClients.Device bob = clients.start(clients.account(handle("bob")), 1);
    String c = "c-" + UUID.randomUUID();
    alice.client.createConversation(c, List.of(bob.id())).join();

    List<CompletableFuture<Long>> sends = new ArrayList<>();
    for (int i = 1; i <= 6; i++) {
      sends.add(alice.client.send(c, "burst " + i));
    }
    List<Long> seqs = sends.stream().map(CompletableFuture::join).sorted().toList();
    assertThat(seqs).containsExactly(2L, 3L, 4L, 5L, 6L, 7L);
    bob.awaitTexts(c, 6);
    assertThat(bob.texts(c)).hasSize(6).doesNotHaveDuplicates();
    assertThat(alice.errors).isEmpty();
    assertThat(alice.sent).noneMatch(SentMessage::duplicate);
  }

  @Test
  void theListenerHearsContactsComeAndGo() {
    TestClients.Device alice = clients.start(clients.account(handle("alice")), 1);
    TestClients.Device bob = clients.start(clients.account(handle("bob")), 1);
    alice.client.createConversation("c-" + UUID.randomUUID(), List.of(bob.id())).join();
    await().atMost(TestClients.WAIT).until(() -> bob.presence.stream()
        .anyMatch(p -> p.user().equals(alice.id()) && p.online() && p.lastSeen() == null));

    alice.client.close();
    await().atMost(TestClients.WAIT).until(() -> bob.presence.stream()
        .anyMatch(p -> p.user().equals(alice.id()) && !p.online() && p.lastSeen() != null));
  }
}
