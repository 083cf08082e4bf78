package io.parley.client;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.parley.testing.NodeExtension;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** Sends with the caller's own idempotency key, through a real node. */
class ClientIdempotencyKeyIntegrationTest {
  @RegisterExtension
  static final NodeExtension parley = new NodeExtension(Map.of("parley.directory.claim-rate", 10_000));

  private static final AtomicInteger USERS = new AtomicInteger();

  @RegisterExtension
  final TestClients clients = TestClients.perTest(parley);

  private TestClients.Device user(String name) {
    return clients.start(clients.account(name + "-" + USERS.incrementAndGet()), 1);
  }

  @Test
  void theSameKeyStoresOneMessageWhetherRepeatedWhilePendingAfterTheAckOrAfterARestart() {
    TestClients.Device alice = user("alice");
    TestClients.Device bob = user("bob");
    String c = "c-" + UUID.randomUUID();
    alice.client.createConversation(c, List.of(bob.id())).join();
    String key = "event-" + UUID.randomUUID();

    // the second call is made before the first can have been acknowledged: it joins the pending send
    CompletableFuture<Long> first = alice.client.send(c, "the reply", key);
    CompletableFuture<Long> second = alice.client.send(c, "the reply", key);
    long seq = first.join();
    assertThat(second.join()).isEqualTo(seq);

    assertThat(alice.client.send(c, "the reply", key).join()).as("after the ack").isEqualTo(seq);

    // a restarted client has forgotten the key: the server's dedup answers with the original seq
    alice.client.close();
    clients.open(alice);
    assertThat(alice.client.send(c, "the reply", key).join()).as("after a restart").isEqualTo(seq);

    long next = alice.client.send(c, "the next reply").join();
    assertThat(next).isEqualTo(seq + 1);
    bob.awaitTexts(c, 2);
    assertThat(bob.texts(c)).containsExactly("the reply", "the next reply");
    assertThat(alice.sent).extracting(SentMessage::idempotencyKey).filteredOn(key::equals).isNotEmpty();
    assertThat(alice.errors).isEmpty();
    assertThat(bob.errors).isEmpty();
  }

  @Test
  void aKeyIsPerConversation() {
    TestClients.Device alice = user("alice");
    TestClients.Device bob = user("bob");
    String c1 = "c-" + UUID.randomUUID();
    String c2 = "c-" + UUID.randomUUID();
    alice.client.createConversation(c1, List.of(bob.id())).join();
    alice.client.createConversation(c2, List.of(bob.id())).join();
    String key = "event-" + UUID.randomUUID();

    assertThat(alice.client.send(c1, "to the first", key).join()).isEqualTo(2);
    assertThat(alice.client.send(c2, "to the second", key).join()).isEqualTo(2);
    bob.awaitTexts(c1, 1);
    bob.awaitTexts(c2, 1);
    assertThat(bob.texts(c2)).containsExactly("to the second");
  }

  @Test
  void keysOutsideTheProtocolsShapeAreRefusedAtOnce() {
    TestClients.Device alice = user("alice");
    for (String bad : new String[] {null, "short", "x".repeat(129), "with space", "caf\u00e9-key", "tab\tkey-1"}) {
      assertThatThrownBy(() -> alice.client.send("c-12345678", "text", bad))
          .as("key %s", bad).isInstanceOf(IllegalArgumentException.class);
    }
    assertThat(alice.client.send("c-" + UUID.randomUUID(), "nowhere", "!~" + "x".repeat(126)))
        .failsWithin(TestClients.WAIT).withThrowableOfType(java.util.concurrent.ExecutionException.class)
        .havingCause().isInstanceOf(ParleyClientException.class);
  }
}
