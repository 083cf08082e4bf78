package io.parley.client;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import io.parley.testing.NodeExtension;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** Real SDK clients chatting end to end encrypted through a real node. */
class ClientChatIntegrationTest {
  @RegisterExtension
  static final NodeExtension parley = new NodeExtension(Map.of("parley.directory.claim-rate", 10_000));

  private static final AtomicInteger USERS = new AtomicInteger();

  @RegisterExtension
  final TestClients clients = TestClients.perTest(parley);

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

  @Test
  void threeClientsInAGroupEachGetEveryoneElsesMessages() {
    TestClients.Device alice = clients.start(clients.account(handle("alice")), 1);
    TestClients.Device bob = clients.start(clients.account(handle("bob")), 1);
    TestClients.Device carol = clients.start(clients.account(handle("carol")), 1);
    String c = conversation();
    alice.client.createConversation(c, List.of(bob.id(), carol.id())).join();

    alice.client.send(c, "from alice").join();
    bob.awaitTexts(c, 1);
    bob.client.send(c, "from bob").join();
    carol.awaitTexts(c, 2);
    carol.client.send(c, "from carol").join();
    alice.awaitTexts(c, 2);
    bob.awaitTexts(c, 2);

    assertThat(alice.texts(c)).containsExactly("from bob", "from carol");
    assertThat(bob.texts(c)).containsExactly("from alice", "from carol");
    assertThat(carol.texts(c)).containsExactly("from alice", "from bob");
    for (TestClients.Device d : List.of(alice, bob, carol)) {
      assertThat(d.errors).as("errors of %s", d.account.handle()).isEmpty();
    }
  }

  @Test
  void aUsersOtherDeviceGetsWhatItsSiblingSent() {
    var aliceAccount = clients.account(handle("alice"));
    TestClients.Device alice1 = clients.start(aliceAccount, 1);
    TestClients.Device alice2 = clients.start(aliceAccount, 2);
    TestClients.Device bob = clients.start(clients.account(handle("bob")), 1);
    String c = conversation();
    alice1.client.createConversation(c, List.of(bob.id())).join();

    long seq = alice1.client.send(c, "sent from the phone").join();
    bob.awaitTexts(c, 1);
    alice2.awaitTexts(c, 1);
    assertThat(alice2.messages.get(0)).satisfies(m -> {
      assertThat(m.text()).isEqualTo("sent from the phone");
      assertThat(m.seq()).isEqualTo(seq);
      assertThat(m.fromUser()).isEqualTo(alice1.id());
      assertThat(m.fromDevice()).isEqualTo(1);
    });

    alice2.client.send(c, "sent from the laptop").join();
    alice1.awaitTexts(c, 1);
    bob.awaitTexts(c, 2);
    assertThat(alice1.texts(c)).containsExactly("sent from the laptop");
    assertThat(bob.texts(c)).containsExactly("sent from the phone", "sent from the laptop");
    assertThat(alice1.errors).isEmpty();
    assertThat(alice2.errors).isEmpty();
    assertThat(bob.errors).isEmpty();
  }

  @Test
  void aDeviceAddedMidConversationGetsTheNextMessageThroughDeviceMismatchWithTheSameKey() {
    TestClients.Device alice = clients.start(clients.account(handle("alice")), 1);
    var bobAccount = clients.account(handle("bob"));
    TestClients.Device bob1 = clients.start(bobAccount, 1);
    String c = conversation();
    alice.client.createConversation(c, List.of(bob1.id())).join();
    alice.client.send(c, "before the new device").join();
    bob1.awaitTexts(c, 1);

    TestClients.Device bob2 = clients.start(bobAccount, 2);
    long seq = alice.client.send(c, "after the new device").join();

    bob1.awaitTexts(c, 2);
    bob2.awaitTexts(c, 1);
    assertThat(bob2.texts(c)).containsExactly("after the new device");
    assertThat(bob2.messages.get(0).seq()).isEqualTo(seq);
    assertThat(bob1.texts(c)).containsExactly("before the new device", "after the new device");
    assertThat(alice.sent).extracting(SentMessage::seq).containsExactly(seq - 1, seq);
    assertThat(alice.errors).isEmpty();

    // bob's first device now also encrypts for his second one, which it learns of in the same way
    bob1.client.send(c, "bob to everyone").join();
    alice.awaitTexts(c, 1);
    bob2.awaitTexts(c, 2);
    assertThat(bob2.texts(c)).containsExactly("after the new device", "bob to everyone");
  }

  @Test
  void tamperedAndReplayedCiphertextsReachTheAppAsErrors() throws Exception {
    var aliceAccount = clients.account(handle("alice"));
    TestClients.Device bob = clients.start(clients.account(handle("bob")), 1);
    try (RawDevice alice = new RawDevice(parley.port(), aliceAccount, 1, clients.root().resolve("raw-alice"))) {
      alice.connect();
      String c = conversation();
      alice.send(Json.object().put("type", "create").put("requestId", "r1").put("conversationId", c)
          .set("participants", Json.MAPPER.createArrayNode().add(bob.id())));
      alice.await(f -> f.path("type").asText().equals("created"));
      alice.session(bob.id(), 1);

      SessionCrypto.Sealed first = alice.encrypt(bob.id(), 1, "genuine");
      assertThat(alice.sendEnvelope(c, "k-genuine-1", bob.id(), 1, first.type(), first.body())
          .path("type").asText()).isEqualTo("ack");
      bob.awaitTexts(c, 1);

      SessionCrypto.Sealed second = alice.encrypt(bob.id(), 1, "to be tampered with");
      assertThat(second.type()).isEqualTo(3);
      byte[] tampered = SessionCryptoTest.tamperInnerMessage(second.body());
      JsonNode tamperedAck = alice.sendEnvelope(c, "k-tampered-1", bob.id(), 1, second.type(), tampered);
      assertThat(tamperedAck.path("type").asText()).as("answer %s", tamperedAck).isEqualTo("ack");
      var failed = bob.awaitError(ParleyClientException.DecryptionFailed.class, e -> true);
      assertThat(failed.seq()).isEqualTo(tamperedAck.path("seq").asLong());
      assertThat(failed.fromUser()).isEqualTo(aliceAccount.accountId());

      JsonNode replayAck = alice.sendEnvelope(c, "k-replayed-1", bob.id(), 1, first.type(), first.body());
      var replayed = bob.awaitError(ParleyClientException.Replayed.class, e -> true);
      assertThat(replayed.seq()).isEqualTo(replayAck.path("seq").asLong());

      SessionCrypto.Sealed third = alice.encrypt(bob.id(), 1, "still fine afterwards");
      alice.sendEnvelope(c, "k-genuine-2", bob.id(), 1, third.type(), third.body());
      bob.awaitTexts(c, 2);
      assertThat(bob.texts(c)).containsExactly("genuine", "still fine afterwards");
    }
  }

  @Test
  void aBurstThroughDroppedConnectionsArrivesOnceAndInOrder() {
    TestClients.Device alice = clients.start(clients.account(handle("alice")), 1);
    TestClients.Device bob = clients.start(clients.account(handle("bob")), 1);
    String c = conversation();
    alice.client.createConversation(c, List.of(bob.id())).join();
    alice.client.send(c, "warm-up").join();
    bob.awaitTexts(c, 1);

    int count = 60;
    List<java.util.concurrent.CompletableFuture<Long>> futures = new java.util.ArrayList<>();
    for (int i = 0; i < count; i++) {
      futures.add(alice.client.send(c, "burst " + i));
      if (i == 15) {
        ((DefaultParleyClient) alice.client).dropConnection();
      }
      if (i == 30) {
        ((DefaultParleyClient) bob.client).dropConnection();
      }
      if (i == 45) {
        ((DefaultParleyClient) alice.client).dropConnection();
        ((DefaultParleyClient) bob.client).dropConnection();
      }
    }
    List<Long> seqs = futures.stream().map(f -> f.orTimeout(60, java.util.concurrent.TimeUnit.SECONDS).join()).toList();
    bob.awaitTexts(c, count + 1);

    List<String> expected = new java.util.ArrayList<>(List.of("warm-up"));
    for (int i = 0; i < count; i++) {
      expected.add("burst " + i);
    }
    assertThat(bob.texts(c)).as("every message once, in order").containsExactlyElementsOf(expected);
    List<Long> delivered = bob.messages.stream().filter(m -> m.conversationId().equals(c))
        .map(DecryptedMessage::seq).toList();
    assertThat(delivered).as("seqs without gaps or repeats").isSorted().doesNotHaveDuplicates();
    assertThat(delivered.subList(1, delivered.size())).containsExactlyElementsOf(seqs);
    assertThat(alice.sent.stream().map(SentMessage::idempotencyKey).distinct().count()).isEqualTo(count + 1);
    assertThat(alice.states).contains(ConnectionState.RECONNECTING);
    assertThat(bob.errors).isEmpty();
  }

  @Test
  void whenOneTimePrekeysRunOutTheLastResortKyberPrekeyServesAndTheDeviceTopsUpLater() throws Exception {
    var bobAccount = clients.account(handle("bob"));
    TestClients.Device bob = new TestClients.Device(bobAccount, 1, clients.root().resolve("bob-few"), TestClients.randomKey());
    bob.oneTimePreKeys = 2;
    clients.open(bob);
    String bobId = bobAccount.accountId();
    bob.client.close();

    TestClients.Device alice = clients.start(clients.account(handle("alice")), 1);
    Directory claims = new Directory(java.net.http.HttpClient.newHttpClient(),
        java.net.URI.create("http://127.0.0.1:" + parley.port()), TokenSupplier.fixed(alice.account.token()),
        java.time.Duration.ofSeconds(10));
    JsonNode bundle;
    int claimed = 0;
    do {
      bundle = claims.bundle(bobId, 1);
      claimed++;
    } while (bundle.has("oneTimePreKey") && claimed < 10);
    assertThat(bundle.has("oneTimePreKey")).as("bob's one-time prekeys are exhausted").isFalse();

    String c = conversation();
    alice.client.createConversation(c, List.of(bobId)).join();
    alice.client.send(c, "through the last-resort key").join();

    clients.open(bob);
    bob.awaitTexts(c, 1);
    assertThat(bob.texts(c)).containsExactly("through the last-resort key");
    assertThat(bob.errors).isEmpty();
    await().atMost(TestClients.WAIT).untilAsserted(() -> {
      Directory own = new Directory(java.net.http.HttpClient.newHttpClient(),
          java.net.URI.create("http://127.0.0.1:" + parley.port()), TokenSupplier.fixed(bobAccount.token()),
          java.time.Duration.ofSeconds(10));
      assertThat(own.status(1).orElseThrow().oneTimePreKeys()).as("topped up after restart").isEqualTo(2);
    });
  }

  @Test
  void readReceiptsDeliveredReceiptsAndTypingReachTheSender() {
    TestClients.Device alice = clients.start(clients.account(handle("alice")), 1);
    TestClients.Device bob = clients.start(clients.account(handle("bob")), 1);
    String c = conversation();
    alice.client.createConversation(c, List.of(bob.id())).join();
    long seq = alice.client.send(c, "did you read this?").join();
    bob.awaitTexts(c, 1);

    await().atMost(TestClients.WAIT).until(() -> alice.receipts.stream()
        .anyMatch(r -> r.kind() == Receipt.Kind.DELIVERED && r.seq() >= seq && r.user().equals(bob.id())));
    bob.client.markRead(c, seq).join();
    await().atMost(TestClients.WAIT).until(() -> alice.receipts.contains(
        new Receipt(c, bob.id(), Receipt.Kind.READ, seq)));
    assertThat(alice.client.receipts(c).join()).contains(new ReceiptMarkers(bob.id(), seq, seq));

    bob.client.typing(c, true).join();
    await().atMost(TestClients.WAIT).until(() -> alice.typing.contains(new TypingEvent(c, bob.id(), 1, true)));
  }

  @Test
  void lookupMembershipAndConversationList() {
    TestClients.Device alice = clients.start(clients.account(handle("alice")), 1);
    var bobAccount = clients.account(handle("bob"));
    TestClients.Device bob = clients.start(bobAccount, 1);
    TestClients.Device carol = clients.start(clients.account(handle("carol")), 1);
    assertThat(alice.client.lookup(bobAccount.handle()).join()).isEqualTo(bob.id());
    assertThat(alice.client.lookup("nobody-" + UUID.randomUUID().toString().substring(0, 8)))
        .failsWithin(TestClients.WAIT).withThrowableThat().havingCause()
        .isInstanceOfSatisfying(ParleyClientException.ServerError.class,
            e -> assertThat(e.code()).isEqualTo("unknown_handle"));

    String c = conversation();
    alice.client.createConversation(c, List.of(bob.id())).join();
    long added = alice.client.addMember(c, carol.id()).join();
    alice.client.send(c, "welcome carol").join();
    carol.awaitTexts(c, 1);
    assertThat(carol.members).extracting(MemberEvent::seq).contains(added);
    assertThat(carol.client.listConversations().join()).extracting(ConversationSummary::conversationId).contains(c);

    long removed = alice.client.removeMember(c, bob.id()).join();
    assertThat(removed).isEqualTo(added + 2);
    alice.client.send(c, "bob has gone").join();
    carol.awaitTexts(c, 2);
    await().atMost(TestClients.WAIT).until(() -> bob.members.stream().anyMatch(m -> m.seq() == removed));
    assertThat(bob.texts(c)).containsExactly("welcome carol");
    assertThat(alice.errors).isEmpty();
  }

  @Test
  void aSendAfterAMemberLeftUnseenByThisDeviceReachesTheRemainingMembers() {
    TestClients.Device alice = clients.start(clients.account(handle("alice")), 1);
    TestClients.Device bob = clients.start(clients.account(handle("bob")), 1);
    TestClients.Device carol = clients.start(clients.account(handle("carol")), 1);
    String c = conversation();
    alice.client.createConversation(c, List.of(bob.id(), carol.id())).join();
    alice.client.send(c, "hello both").join();
    carol.awaitTexts(c, 1);

    // carol leaves while alice's device is away: alice's store still counts her as a member
    alice.client.close();
    carol.client.removeMember(c, carol.id()).join();
    clients.open(alice);
    alice.client.send(c, "just us now").join();

    bob.awaitTexts(c, 2);
    assertThat(bob.texts(c)).containsExactly("hello both", "just us now");
    assertThat(carol.texts(c)).containsExactly("hello both");
    assertThat(alice.errors).isEmpty();
  }
}
