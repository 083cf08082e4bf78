package io.parley.client;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.parley.testing.DevAccounts;
import io.parley.testing.NodeExtension;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** Encrypted ephemeral frames between real clients through a real node (with its rate limits on). */
class ClientEphemeralIntegrationTest {
  private static final int EPHEMERALS_PER_MINUTE = 8;

  @RegisterExtension
  static final NodeExtension parley = new NodeExtension(Map.of(
      "parley.directory.claim-rate", 10_000,
      "parley.rate-limits.enabled", true,
      "parley.rate-limits.ephemeral-burst.permits", EPHEMERALS_PER_MINUTE,
      "parley.rate-limits.ephemeral-burst.interval", "1m",
      // a loaded test machine can take longer than the default 250 ms, and a late check fails open
      "parley.rate-limits.redis-timeout", "10s"));

  private static final AtomicInteger USERS = new AtomicInteger();

  @RegisterExtension
  final TestClients clients = TestClients.perTest(parley);

  private DevAccounts.Account account(String name) {
    return clients.account(name + "-" + USERS.incrementAndGet());
  }

  private TestClients.Device user(String name) {
    return clients.start(account(name), 1);
  }

  private static String conversation() {
    return "c-" + UUID.randomUUID();
  }

  private static List<String> texts(List<EphemeralMessage> ephemerals) {
    return ephemerals.stream().map(EphemeralMessage::text).toList();
  }

  @Test
  void ephemeralsReachEveryOnlineDeviceDecryptedAndTakeNoSeq() {
    TestClients.Device alice = user("alice");
    var bobAccount = account("bob");
    TestClients.Device bob1 = clients.start(bobAccount, 1);
    TestClients.Device bob2 = clients.start(bobAccount, 2);
    String c = conversation();
    alice.client.createConversation(c, List.of(bob1.id())).join();

    alice.client.sendEphemeral(c, "partial: The").join();
    alice.client.sendEphemeral(c, "partial: The answer").join();
    for (TestClients.Device bob : List.of(bob1, bob2)) {
      await().atMost(TestClients.WAIT).until(() -> bob.ephemerals.size() == 2);
      assertThat(texts(bob.ephemerals)).containsExactly("partial: The", "partial: The answer");
      assertThat(bob.ephemerals).allSatisfy(e -> {
        assertThat(e.conversationId()).isEqualTo(c);
        assertThat(e.fromUser()).isEqualTo(alice.id());
        assertThat(e.fromDevice()).isEqualTo(1);
      });
    }

    assertThat(alice.client.send(c, "The answer is 42.").join()).as("the seq after creation").isEqualTo(2);
    bob1.awaitTexts(c, 1);
    bob2.awaitTexts(c, 1);
    assertThat(bob1.texts(c)).containsExactly("The answer is 42.");
    assertThat(bob2.texts(c)).containsExactly("The answer is 42.");
    assertThat(alice.ephemerals).isEmpty();
    for (TestClients.Device d : List.of(alice, bob1, bob2)) {
      assertThat(d.errors).as("errors of %s", d.account.handle()).isEmpty();
    }
  }

  @Test
  void aRecipientOfflineDuringEphemeralsStillDecryptsTheMessagesAfterThem() {
    TestClients.Device alice = user("alice");
    TestClients.Device bob = user("bob");
    String c = conversation();
    alice.client.createConversation(c, List.of(bob.id())).join();
    bob.client.close();

    // first contact: the ephemerals set up alice's session with bob, who never sees them
    for (int i = 1; i <= 3; i++) {
      alice.client.sendEphemeral(c, "partial " + i).join();
    }
    alice.client.send(c, "final 1").join();
    clients.open(bob);
    bob.awaitTexts(c, 1);
    bob.client.send(c, "got it").join();
    alice.awaitTexts(c, 1);

    // an established session: the sending chain moves on three steps bob skips
    bob.client.close();
    for (int i = 4; i <= 6; i++) {
      alice.client.sendEphemeral(c, "partial " + i).join();
    }
    alice.client.send(c, "final 2").join();
    clients.open(bob);
    bob.awaitTexts(c, 2);

    assertThat(bob.texts(c)).containsExactly("final 1", "final 2");
    assertThat(bob.ephemerals).isEmpty();
    assertThat(alice.texts(c)).containsExactly("got it");
    assertThat(bob.errors).isEmpty();
    assertThat(alice.errors).isEmpty();
  }

  @Test
  void anEphemeralThatCannotBeOpenedIsReportedAndHoldsNothingUp() throws Exception {
    var aliceAccount = account("alice");
    TestClients.Device bob = user("bob");
    try (RawDevice alice = new RawDevice(parley.port(), aliceAccount, 1, clients.root().resolve("raw-alice"))) {
      alice.connect();
      String c = conversation();
      alice.send(Json.object().put("type", "create").put("requestId", "r1").put("conversationId", c)
          .set("participants", Json.MAPPER.createArrayNode().add(bob.id())));
      alice.await(f -> f.path("type").asText().equals("created"));
      alice.session(bob.id(), 1);

      SessionCrypto.Sealed tampered = alice.encrypt(bob.id(), 1, "tampered");
      assertThat(alice.ephemeral("e1", c, bob.id(), 1, tampered.type(),
          SessionCryptoTest.tamperInnerMessage(tampered.body())).path("type").asText()).isEqualTo("ok");
      // a stored message's plaintext in an ephemeral frame (or the other way round) is refused
      SessionCrypto.Sealed wrongKind = alice.encrypt(bob.id(), 1, "a message, not an ephemeral");
      assertThat(alice.ephemeral("e2", c, bob.id(), 1, wrongKind.type(), wrongKind.body()).path("type").asText())
          .isEqualTo("ok");
      var failures = bob.awaitErrors(ParleyClientException.DecryptionFailed.class, 2);
      assertThat(failures).allSatisfy(e -> {
        assertThat(e.seq()).as("an ephemeral has no seq").isZero();
        assertThat(e.conversationId()).isEqualTo(c);
        assertThat(e.fromUser()).isEqualTo(aliceAccount.accountId());
      });

      SessionCrypto.Sealed fine = alice.encrypt(bob.id(), 1, "stored and fine");
      alice.sendEnvelope(c, "k-after-bad-ephemerals", bob.id(), 1, fine.type(), fine.body());
      bob.awaitTexts(c, 1);
      assertThat(bob.texts(c)).containsExactly("stored and fine");
      assertThat(bob.ephemerals).isEmpty();
    }
  }

  @Test
  void anEphemeralFrameIsCheckedLikeASendAndTakesNoSeq() throws Exception {
    var aliceAccount = account("alice");
    TestClients.Device bob = user("bob");
    TestClients.Device carol = user("carol");
    String c = conversation();
    byte[] body = new byte[64];
    body[0] = 0x44; // shaped like a version 4 Signal message; the server never decrypts
    try (RawDevice alice = new RawDevice(parley.port(), aliceAccount, 1, clients.root().resolve("raw-alice"))) {
      alice.connect();
      alice.send(Json.object().put("type", "create").put("requestId", "r1").put("conversationId", c)
          .set("participants", Json.MAPPER.createArrayNode().add(bob.id())));
      alice.await(f -> f.path("type").asText().equals("created"));

      JsonNode ok = alice.ephemeral("e-ok", c, bob.id(), 1, 2, body);
      assertThat(ok.path("type").asText()).as("answer %s", ok).isEqualTo("ok");
      assertThat(ok.path("seq").asLong()).isZero();
      assertThat(code(alice.ephemeral("e-nobody", conversation(), bob.id(), 1, 2, body)))
          .isEqualTo("unknown_conversation");
      assertThat(code(alice.ephemeral("e-stranger", c, carol.id(), 1, 2, body))).isEqualTo("unknown_recipient");
      assertThat(code(alice.ephemeral("e-self", c, aliceAccount.accountId(), 1, 2, body)))
          .isEqualTo("invalid_envelope");
      byte[] notSignal = body.clone();
      notSignal[0] = 0x33;
      assertThat(code(alice.ephemeral("e-garbage", c, bob.id(), 1, 2, notSignal))).isEqualTo("invalid_envelope");
      ObjectNode empty = Json.object().put("type", "ephemeral").put("requestId", "e-empty").put("conversationId", c);
      empty.putArray("envelopes");
      alice.send(empty);
      assertThat(code(alice.await(f -> "e-empty".equals(f.path("requestId").asText())))).isEqualTo("invalid_request");

      // bob got the one accepted frame (not a real ciphertext, so reported), and it took no seq
      var failure = bob.awaitErrors(ParleyClientException.DecryptionFailed.class, 1).get(0);
      assertThat(failure.seq()).isZero();
      alice.session(bob.id(), 1);
      SessionCrypto.Sealed message = alice.encrypt(bob.id(), 1, "the first stored message");
      JsonNode ack = alice.sendEnvelope(c, "k-first-message", bob.id(), 1, message.type(), message.body());
      assertThat(ack.path("seq").asLong()).isEqualTo(2);
      bob.awaitTexts(c, 1);
    }
    try (RawDevice outsider = new RawDevice(parley.port(), carol.account, 2, clients.root().resolve("raw-carol"))) {
      outsider.connect();
      assertThat(code(outsider.ephemeral("e-outsider", c, bob.id(), 1, 2, body))).isEqualTo("not_participant");
    }
  }

  @Test
  void ephemeralsBeyondTheLimitOfAConversationAreRefusedAndMessagesAndOtherConversationsGoOn() {
    TestClients.Device alice = user("alice");
    TestClients.Device bob = user("bob");
    String c = conversation();
    String other = conversation();
    alice.client.createConversation(c, List.of(bob.id())).join();
    alice.client.createConversation(other, List.of(bob.id())).join();

    for (int i = 1; i <= EPHEMERALS_PER_MINUTE; i++) {
      alice.client.sendEphemeral(c, "token " + i).join();
    }
    assertThat(alice.client.sendEphemeral(c, "one too many")).failsWithin(TestClients.WAIT)
        .withThrowableOfType(ExecutionException.class)
        .havingCause()
        .isInstanceOfSatisfying(ParleyClientException.ServerError.class, e -> {
          assertThat(e.code()).isEqualTo("rate_limited");
          assertThat(e.retryable()).isTrue();
          assertThat(e.conversationId()).isEqualTo(c);
        });
    alice.client.sendEphemeral(other, "another conversation").join();
    alice.client.send(c, "the stored reply").join();

    bob.awaitTexts(c, 1);
    await().atMost(TestClients.WAIT).until(() -> bob.ephemerals.size() == EPHEMERALS_PER_MINUTE + 1);
    assertThat(texts(bob.ephemerals)).doesNotContain("one too many").contains("another conversation");
    assertThat(bob.errors).isEmpty();
  }

  @Test
  void whileDisconnectedAnEphemeralFailsAtOnceInsteadOfWaiting() {
    TestClients.Device alice = user("alice");
    TestClients.Device bob = user("bob");
    String c = conversation();
    alice.client.createConversation(c, List.of(bob.id())).join();
    alice.client.close();
    assertThat(alice.client.sendEphemeral(c, "too late")).failsWithin(TestClients.WAIT)
        .withThrowableOfType(ExecutionException.class)
        .havingCause().isInstanceOf(ParleyClientException.Closed.class);
  }

  private static String code(JsonNode answer) {
    assertThat(answer.path("type").asText()).as("answer %s", answer).isEqualTo("error");
    return answer.path("code").asText();
  }
}
