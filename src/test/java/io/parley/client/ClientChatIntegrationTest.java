package io.parley.client;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.parley.testing.NodeExtension;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/** Real SDK clients chatting end to end encrypted through a real node. */
class ClientChatIntegrationTest {
  @RegisterExtension
  static final NodeExtension parley = new NodeExtension(Map.of("parley.directory.claim-rate", 10_000));

  private static final AtomicInteger USERS = new AtomicInteger();

  @TempDir
  Path stores;

  private TestClients clients;

  @BeforeEach
  void setUp() {
    clients = new TestClients(parley.port(), stores);
  }

  @AfterEach
  void tearDown() {
    clients.close();
  }

  private static String handle(String name) {
    return name + "-" + USERS.incrementAndGet();
  }

  private static String conversation() {
    return "c-" + UUID.randomUUID();
  }

  @Test
  void twoClientsChatBothWaysInOrder() {
    TestClients.Device alice = clients.start(clients.account(handle("alice")), 1);
    TestClients.Device bob = clients.start(clients.account(handle("bob")), 1);
    String c = conversation();
    assertThat(alice.client.createConversation(c, List.of(bob.id())).join()).isEqualTo(1);

    long first = alice.client.send(c, "hello bob").join();
    long second = alice.client.send(c, "are you there?").join();
    assertThat(second).isEqualTo(first + 1);
    bob.awaitTexts(c, 2);
    assertThat(bob.texts(c)).containsExactly("hello bob", "are you there?");
    DecryptedMessage m = bob.messages.get(0);
    assertThat(m.fromUser()).isEqualTo(alice.id());
    assertThat(m.fromDevice()).isEqualTo(1);
    assertThat(m.seq()).isEqualTo(first);

    bob.client.send(c, "hi alice").join();
    alice.awaitTexts(c, 1);
    assertThat(alice.texts(c)).containsExactly("hi alice");
    assertThat(alice.errors).isEmpty();
    assertThat(bob.errors).isEmpty();
    assertThat(bob.members).extracting(MemberEvent::change).containsExactly(MemberEvent.Change.CREATED);
  }
}
