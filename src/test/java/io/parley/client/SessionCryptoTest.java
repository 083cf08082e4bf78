package io.parley.client;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.signal.libsignal.protocol.IdentityKeyPair;
import org.signal.libsignal.protocol.message.CiphertextMessage;
import org.signal.libsignal.protocol.state.KyberPreKeyRecord;
import org.signal.libsignal.protocol.state.PreKeyBundle;
import org.signal.libsignal.protocol.state.PreKeyRecord;
import org.signal.libsignal.protocol.state.SignedPreKeyRecord;

/** Two devices' stores on disk, talking through libsignal without a server; bundles go through the directory JSON. */
class SessionCryptoTest {
  @TempDir
  Path dir;

  private final StoreKey aliceKey = key();
  private final StoreKey bobKey = key();
  private DeviceStore alice;
  private DeviceStore bob;

  @BeforeEach
  void open() {
    alice = DeviceStore.open(dir.resolve("alice"), aliceKey);
    bob = DeviceStore.open(dir.resolve("bob"), bobKey);
    register(alice, 1);
    register(bob, 2);
  }

  @AfterEach
  void close() {
    alice.close();
    bob.close();
  }

  private static StoreKey key() {
    byte[] key = new byte[32];
    new SecureRandom().nextBytes(key);
    return StoreKey.raw(key);
  }

  private static void register(DeviceStore store, int oneTime) {
    IdentityKeyPair pair = IdentityKeyPair.generate();
    store.saveIdentity(new DeviceStore.Identity(KeyMaterial.b64(pair.serialize()), 100 + oneTime, 1, 2, 2, 0));
    store.storeSignedPreKey(1, KeyMaterial.signedPreKey(1, pair, 0));
    store.storeKyberPreKey(1, KeyMaterial.kyberPreKey(1, pair, 0));
    store.storePreKeys(KeyMaterial.oneTimePreKeys(1, oneTime));
  }

  /** The directory's answer for a device, built from its store the way the server serves it. */
  static PreKeyBundle bundleOf(DeviceStore store, int device, Integer oneTimeId) throws Exception {
    var node = Json.object();
    node.put("device", device);
    node.put("registrationId", store.getLocalRegistrationId());
    node.put("identityKey", KeyMaterial.b64(store.getIdentityKeyPair().getPublicKey().serialize()));
    SignedPreKeyRecord signed = store.loadSignedPreKey(1);
    KyberPreKeyRecord kyber = store.loadKyberPreKey(1);
    node.set("signedPreKey", KeyMaterial.json(signed));
    node.set("kyberPreKey", KeyMaterial.json(kyber));
    if (oneTimeId != null) {
      PreKeyRecord oneTime = store.loadPreKey(oneTimeId);
      node.set("oneTimePreKey", KeyMaterial.json(List.of(oneTime)).get(0));
    }
    return KeyMaterial.bundle(node);
  }

  @Test
  void pqxdhThenRatchetBothWays() throws Exception {
    SessionCrypto a = new SessionCrypto(alice);
    SessionCrypto b = new SessionCrypto(bob);
    a.process("u_bob", bundleOf(bob, 1, 1));
    assertThat(a.hasSession("u_bob", 1)).isTrue();

    SessionCrypto.Sealed first = a.encrypt("u_bob", 1, bytes("hi bob"));
    assertThat(first.type()).isEqualTo(CiphertextMessage.PREKEY_TYPE);
    assertThat(first.body()[0]).isEqualTo((byte) 0x44);
    assertThat(text(b.decrypt("u_alice", 1, first.type(), first.body()))).isEqualTo("hi bob");
    assertThat(bob.containsPreKey(1)).as("the one-time prekey is consumed").isFalse();

    SessionCrypto.Sealed reply = b.encrypt("u_alice", 1, bytes("hi alice"));
    assertThat(reply.type()).isEqualTo(CiphertextMessage.WHISPER_TYPE);
    assertThat(text(a.decrypt("u_bob", 1, reply.type(), reply.body()))).isEqualTo("hi alice");

    SessionCrypto.Sealed next = a.encrypt("u_bob", 1, bytes("again"));
    assertThat(next.type()).isEqualTo(CiphertextMessage.WHISPER_TYPE);
    assertThat(text(b.decrypt("u_alice", 1, next.type(), next.body()))).isEqualTo("again");
  }

  @Test
  void sessionsSurviveReopeningTheStores() throws Exception {
    new SessionCrypto(alice).process("u_bob", bundleOf(bob, 1, 1));
    SessionCrypto.Sealed first = new SessionCrypto(alice).encrypt("u_bob", 1, bytes("one"));
    alice.close();
    bob.close();
    alice = DeviceStore.open(dir.resolve("alice"), aliceKey);
    bob = DeviceStore.open(dir.resolve("bob"), bobKey);
    assertThat(text(new SessionCrypto(bob).decrypt("u_alice", 1, first.type(), first.body()))).isEqualTo("one");
    SessionCrypto.Sealed second = new SessionCrypto(alice).encrypt("u_bob", 1, bytes("two"));
    assertThat(text(new SessionCrypto(bob).decrypt("u_alice", 1, second.type(), second.body()))).isEqualTo("two");
  }

  @Test
  void tamperedAndReplayedCiphertextsAreRefused() throws Exception {
    SessionCrypto a = new SessionCrypto(alice);
    SessionCrypto b = new SessionCrypto(bob);
    a.process("u_bob", bundleOf(bob, 1, 1));
    SessionCrypto.Sealed first = a.encrypt("u_bob", 1, bytes("one"));
    b.decrypt("u_alice", 1, first.type(), first.body());
    SessionCrypto.Sealed reply = b.encrypt("u_alice", 1, bytes("reply"));
    a.decrypt("u_bob", 1, reply.type(), reply.body());
    SessionCrypto.Sealed second = a.encrypt("u_bob", 1, bytes("two"));
    assertThat(second.type()).isEqualTo(CiphertextMessage.WHISPER_TYPE);

    byte[] tampered = second.body().clone();
    tampered[tampered.length - 20] ^= 0x01;
    assertThatThrownBy(() -> b.decrypt("u_alice", 1, second.type(), tampered))
        .isInstanceOfSatisfying(SessionCrypto.OpenFailure.class,
            e -> assertThat(e.reason).isEqualTo(SessionCrypto.OpenFailure.Reason.INVALID));

    assertThat(text(b.decrypt("u_alice", 1, second.type(), second.body()))).isEqualTo("two");
    assertThatThrownBy(() -> b.decrypt("u_alice", 1, second.type(), second.body()))
        .isInstanceOfSatisfying(SessionCrypto.OpenFailure.class,
            e -> assertThat(e.reason).isEqualTo(SessionCrypto.OpenFailure.Reason.DUPLICATE));
  }

  @Test
  void aTamperedPreKeyMessageIsRefused() throws Exception {
    SessionCrypto a = new SessionCrypto(alice);
    SessionCrypto b = new SessionCrypto(bob);
    a.process("u_bob", bundleOf(bob, 1, 1));
    SessionCrypto.Sealed first = a.encrypt("u_bob", 1, bytes("one"));
    b.decrypt("u_alice", 1, first.type(), first.body());
    SessionCrypto.Sealed second = a.encrypt("u_bob", 1, bytes("two"));
    assertThat(second.type()).isEqualTo(CiphertextMessage.PREKEY_TYPE);
    byte[] tampered = tamperInnerMessage(second.body());
    assertThatThrownBy(() -> b.decrypt("u_alice", 1, second.type(), tampered))
        .isInstanceOfSatisfying(SessionCrypto.OpenFailure.class,
            e -> assertThat(e.reason).isEqualTo(SessionCrypto.OpenFailure.Reason.INVALID));
    assertThat(text(b.decrypt("u_alice", 1, second.type(), second.body()))).isEqualTo("two");
  }

  @Test
  void withoutOneTimePrekeysTheLastResortKyberKeyServesAndABaseKeyIsNotReused() throws Exception {
    SessionCrypto a = new SessionCrypto(alice);
    SessionCrypto b = new SessionCrypto(bob);
    a.process("u_bob", bundleOf(bob, 1, null));
    SessionCrypto.Sealed first = a.encrypt("u_bob", 1, bytes("no one-time key"));
    assertThat(first.type()).isEqualTo(CiphertextMessage.PREKEY_TYPE);
    assertThat(text(b.decrypt("u_alice", 1, first.type(), first.body()))).isEqualTo("no one-time key");
    assertThat(bob.containsKyberPreKey(1)).as("the last-resort Kyber prekey stays").isTrue();

    // the same PreKey message again (a new session from it would reuse the base key) is refused
    bob.deleteSession(new org.signal.libsignal.protocol.SignalProtocolAddress("u_alice", 1));
    assertThatThrownBy(() -> b.decrypt("u_alice", 1, first.type(), first.body()))
        .isInstanceOf(SessionCrypto.OpenFailure.class);
  }

  @Test
  void aChangedIdentityIsNotTrustedUntilAccepted() throws Exception {
    SessionCrypto a = new SessionCrypto(alice);
    a.process("u_bob", bundleOf(bob, 1, 1));
    try (DeviceStore reinstalled = DeviceStore.open(dir.resolve("bob2"), key())) {
      register(reinstalled, 1);
      PreKeyBundle changed = bundleOf(reinstalled, 1, 1);
      assertThatThrownBy(() -> a.process("u_bob", changed))
          .isInstanceOf(org.signal.libsignal.protocol.UntrustedIdentityException.class);
      alice.forgetIdentities("u_bob");
      a.process("u_bob", changed);
      assertThat(a.hasSession("u_bob", 1)).isTrue();
    }
  }

  @Test
  void plaintextIsPaddedToBlocksAndRoundTrips() {
    for (String text : List.of("", "x", "a".repeat(51), "a".repeat(52), "héllo wörld ✓")) {
      byte[] encoded = new Plaintext(text, 1234L).encode();
      assertThat(encoded.length % Plaintext.BLOCK).isZero();
      assertThat(Plaintext.decode(encoded)).isEqualTo(new Plaintext(text, 1234L));
    }
    assertThat(new Plaintext("a".repeat(51), 0).encode()).hasSize(64);
    assertThat(new Plaintext("a".repeat(52), 0).encode()).hasSize(128);
    byte[] wrongVersion = new Plaintext("x", 0).encode();
    wrongVersion[0] = 2;
    assertThatThrownBy(() -> Plaintext.decode(wrongVersion)).isInstanceOf(IllegalArgumentException.class);
  }

  /**
   * Flips a bit of the MAC of the Signal message inside a PreKey message. (Bytes of the PreKey message
   * outside it, such as the Kyber ciphertext, are not read again once the session exists.)
   */
  static byte[] tamperInnerMessage(byte[] preKeyMessage) throws Exception {
    byte[] inner = new org.signal.libsignal.protocol.message.PreKeySignalMessage(preKeyMessage).getWhisperMessage()
        .serialize();
    int at = DeviceStoreTest.indexOf(preKeyMessage, inner);
    assertThat(at).isNotNegative();
    byte[] tampered = preKeyMessage.clone();
    tampered[at + inner.length - 1] ^= 0x01;
    return tampered;
  }

  private static byte[] bytes(String text) {
    return text.getBytes(StandardCharsets.UTF_8);
  }

  private static String text(byte[] bytes) {
    return new String(bytes, StandardCharsets.UTF_8);
  }
}
