package io.parley.bench;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.parley.protocol.Envelope;
import java.net.URI;
import java.time.Duration;
import java.util.Base64;
import java.util.List;
import java.util.OptionalLong;
import java.util.stream.IntStream;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Pre-encryption and the after-the-run decryption check, between two bench devices in memory. */
class BenchEncryptionTest {
  private static final String ALICE = "u_" + "a".repeat(22);
  private static final String BOB = "u_" + "b".repeat(22);
  private static final int ALICE_INDEX = 0;
  private static final int BOB_INDEX = 1;
  private static final int TEXT = 256;

  private BenchDevice alice;
  private BenchDevice bob;

  /** The session set-up the bench runs through the node: a PreKey message from Alice, a Whisper answer. */
  @BeforeEach
  void openSession() throws Exception {
    alice = BenchDevice.generate(2);
    bob = BenchDevice.generate(2);
    alice.startSession(BOB, claimedBundle(bob));
    BenchDevice.Sealed hello = alice.encrypt(BOB, BenchPlaintext.encode(ALICE_INDEX, BenchClient.HANDSHAKE, TEXT));
    assertThat(hello.type()).isEqualTo(Envelope.PREKEY);
    assertThat(BenchPlaintext.isFrom(bob.decrypt(ALICE, hello.type(), hello.body()), ALICE_INDEX, TEXT)).isTrue();
    BenchDevice.Sealed answer = bob.encrypt(ALICE, BenchPlaintext.encode(BOB_INDEX, BenchClient.HANDSHAKE, TEXT));
    assertThat(answer.type()).isEqualTo(Envelope.WHISPER);
    alice.decrypt(BOB, answer.type(), answer.body());
  }

  @Test
  void plaintextIsPaddedLikeTheSdkAndCarriesItsNumber() {
    assertThat(BenchPlaintext.size(256)).isEqualTo(320);
    assertThat(BenchPlaintext.size(51)).isEqualTo(64);
    assertThat(BenchPlaintext.size(52)).isEqualTo(128);
    byte[] plaintext = BenchPlaintext.encode(7, 42, TEXT);
    assertThat(plaintext).hasSize(320).isEqualTo(BenchPlaintext.encode(7, 42, TEXT));
    assertThat(BenchPlaintext.number(plaintext)).isEqualTo(42);
    assertThat(BenchPlaintext.isFrom(plaintext, 7, TEXT)).isTrue();
    assertThat(BenchPlaintext.isFrom(plaintext, 8, TEXT)).isFalse();
    plaintext[100] ^= 1;
    assertThat(BenchPlaintext.isFrom(plaintext, 7, TEXT)).isFalse();
  }

  @Test
  void afterTheSetUpEveryPreEncryptedMessageIsAWhisperMessageThatPassesTheServersCheck() throws Exception {
    PreEncrypted sent = PreEncrypted.encrypt(alice, BOB, ALICE_INDEX, 50, TEXT);

    assertThat(sent.count()).isEqualTo(50);
    assertThat(sent.preKeyBytes().getCount()).isZero();
    assertThat(sent.whisperBytes().getCount()).isEqualTo(50);
    assertThat(sent.whisperBytes().getMin()).isBetween(400, 460);
    assertThat(sent.encryptNanos().getTotalCount()).isEqualTo(50);
    for (int n = 0; n < sent.count(); n++) {
      assertThat(sent.type(n)).isEqualTo(Envelope.WHISPER);
      assertThat(sent.number(sent.body(n))).isEqualTo(n);
      assertThat(new Envelope(BOB, 1, sent.type(n), sent.body(n)).bytes()[0]).isEqualTo(Envelope.VERSION_BYTE);
    }
    assertThat(sent.number(new Payload(429).body(1, 1))).isEqualTo(-1);
  }

  @Test
  void everythingReceivedInOrderDecryptsToWhatWasSent() throws Exception {
    PreEncrypted fromAlice = PreEncrypted.encrypt(alice, BOB, ALICE_INDEX, 30, TEXT);
    PreEncrypted fromBob = PreEncrypted.encrypt(bob, ALICE, BOB_INDEX, 30, TEXT);
    DecryptionCheck atBob = new DecryptionCheck();
    DecryptionCheck atAlice = new DecryptionCheck();
    for (int n = 0; n < 30; n++) {
      atBob.received(fromAlice.type(n), fromAlice.body(n));
      atAlice.received(fromBob.type(n), fromBob.body(n));
    }

    DecryptionCheck.Outcome bobs = atBob.verify(bob, ALICE, ALICE_INDEX, fromAlice, TEXT);
    DecryptionCheck.Outcome alices = atAlice.verify(alice, BOB, BOB_INDEX, fromBob, TEXT);

    assertThat(bobs.opened()).isEqualTo(30);
    assertThat(bobs.failed()).isZero();
    assertThat(alices.opened()).isEqualTo(30);
    assertThat(alices.failed()).isZero();
    assertThat(DecryptionCheck.Outcome.combine(List.of(bobs, alices)).decryptNanos().getTotalCount())
        .isEqualTo(60);
  }

  @Test
  void messagesLostOrReorderedOnTheWayStillDecrypt() throws Exception {
    PreEncrypted fromAlice = PreEncrypted.encrypt(alice, BOB, ALICE_INDEX, 10, TEXT);
    DecryptionCheck atBob = new DecryptionCheck();
    for (int n : new int[] {0, 2, 1, 5, 9, 8}) {
      atBob.received(fromAlice.type(n), fromAlice.body(n));
    }

    DecryptionCheck.Outcome outcome = atBob.verify(bob, ALICE, ALICE_INDEX, fromAlice, TEXT);

    assertThat(outcome.opened()).isEqualTo(6);
    assertThat(outcome.failed()).isZero();
  }

  @Test
  void tamperedRepeatedForeignAndMisattributedBodiesFail() throws Exception {
    PreEncrypted fromAlice = PreEncrypted.encrypt(alice, BOB, ALICE_INDEX, 4, TEXT);
    byte[] tampered = Base64.getDecoder().decode(fromAlice.body(1));
    tampered[tampered.length / 2] ^= 1;
    DecryptionCheck atBob = new DecryptionCheck();
    atBob.received(fromAlice.type(0), fromAlice.body(0));
    atBob.received(fromAlice.type(1), Base64.getEncoder().encodeToString(tampered));
    atBob.received(fromAlice.type(0), fromAlice.body(0)); // a replay
    atBob.received(Envelope.WHISPER, new Payload(429).body(5, 5)); // not a ciphertext Alice made
    atBob.received(fromAlice.type(2), fromAlice.body(2));

    DecryptionCheck.Outcome outcome = atBob.verify(bob, ALICE, ALICE_INDEX, fromAlice, TEXT);

    assertThat(outcome.opened()).isEqualTo(2);
    assertThat(outcome.failed()).isEqualTo(3);
    // checked against the wrong sender, the plaintexts do not match
    DecryptionCheck again = new DecryptionCheck();
    again.received(fromAlice.type(3), fromAlice.body(3));
    assertThat(again.verify(bob, ALICE, BOB_INDEX, fromAlice, TEXT).failed()).isEqualTo(1);
  }

  @Test
  void aBundleWithoutAOneTimePreKeyStillOpensASession() throws Exception {
    BenchDevice carol = BenchDevice.generate(0);
    ObjectNode bundle = (ObjectNode) claimedBundle(carol);
    assertThat(bundle.has("oneTimePreKey")).isFalse();
    alice.startSession("u_carol", bundle);
    BenchDevice.Sealed hello = alice.encrypt("u_carol", BenchPlaintext.encode(0, 0, TEXT));
    assertThat(BenchPlaintext.isFrom(carol.decrypt(ALICE, hello.type(), hello.body()), 0, TEXT)).isTrue();
  }

  @Test
  void everyClientSendsItsShareOfTheSchedule() {
    BenchPlan plan = new BenchPlan(URI.create("ws://127.0.0.1:8080"), 6, 2, 7, Duration.ofSeconds(1),
        Duration.ofSeconds(2), 256, 1, 2, Duration.ofSeconds(30), OptionalLong.empty(),
        "", true, 25);
    long total = plan.warmupMessages() + plan.measuredMessages(); // 21: clients 0-2 send 4, 3-5 send 3
    assertThat(IntStream.range(0, 6).map(plan::messagesOf).sum()).isEqualTo((int) total);
    assertThat(plan.messagesOf(0)).isEqualTo(4);
    assertThat(plan.messagesOf(2)).isEqualTo(4);
    assertThat(plan.messagesOf(3)).isEqualTo(3);
  }

  /** One entry of {@code devices} as {@code GET /v1/keys/{accountId}} hands it out, from the published set. */
  private static JsonNode claimedBundle(BenchDevice device) {
    ObjectNode published = device.keySet();
    ObjectNode bundle = published.objectNode().put("device", BenchClient.DEVICE);
    bundle.set("registrationId", published.get("registrationId"));
    bundle.set("identityKey", published.get("identityKey"));
    bundle.set("signedPreKey", published.get("signedPreKey"));
    bundle.set("kyberPreKey", published.get("kyberPreKey"));
    if (published.get("oneTimePreKeys").size() > 0) {
      bundle.set("oneTimePreKey", published.get("oneTimePreKeys").get(0));
    }
    return bundle;
  }
}
