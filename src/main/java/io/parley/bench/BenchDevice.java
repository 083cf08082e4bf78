package io.parley.bench;

import com.fasterxml.jackson.databind.JsonNode;

import com.fasterxml.jackson.databind.node.ObjectNode;


import io.parley.client.KeyMaterial;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;

import org.signal.libsignal.protocol.IdentityKeyPair;
import org.signal.libsignal.protocol.InvalidKeyException;
import org.signal.libsignal.protocol.NoSessionException;
import org.signal.libsignal.protocol.SessionBuilder;
import org.signal.libsignal.protocol.SessionCipher;
import org.signal.libsignal.protocol.SignalProtocolAddress;
import org.signal.libsignal.protocol.UntrustedIdentityException;





import org.signal.libsignal.protocol.message.CiphertextMessage;
import org.signal.libsignal.protocol.message.PreKeySignalMessage;
import org.signal.libsignal.protocol.message.SignalMessage;
import org.signal.libsignal.protocol.state.KyberPreKeyRecord;
import org.signal.libsignal.protocol.state.PreKeyBundle;
import org.signal.libsignal.protocol.state.PreKeyRecord;
import org.signal.libsignal.protocol.state.SignedPreKeyRecord;
import org.signal.libsignal.protocol.state.impl.InMemorySignalProtocolStore;

/**
 * A bench device's Signal identity, prekeys and sessions, kept in libsignal's in-memory stores (a bench
 * device lives for one run, so nothing is written to disk). Its public half is what the bench publishes to
 * the key directory; with {@code --encrypt} the same keys set up real PQXDH sessions and encrypt and decrypt
 * real Signal messages. Session operations are synchronized: the set-up hands a device between the bench's
 * main thread and its socket's listener thread.
 */
final class BenchDevice {
  /** A ciphertext: Signal message type (2 Whisper, 3 PreKey) and its serialized bytes. */
  record Sealed(int type, byte[] body) {}

  private static final int SIGNED_PREKEY_ID = 1;
  private static final int KYBER_PREKEY_ID = 1;

  private final int registrationId;
  private final IdentityKeyPair identity;
  private final SignedPreKeyRecord signedPreKey;
  private final KyberPreKeyRecord kyberPreKey;
  private final List<PreKeyRecord> oneTimePreKeys;
  private final InMemorySignalProtocolStore store;

  private BenchDevice(int registrationId, IdentityKeyPair identity, SignedPreKeyRecord signedPreKey,
                      KyberPreKeyRecord kyberPreKey, List<PreKeyRecord> oneTimePreKeys) {
    this.registrationId = registrationId;
    this.identity = identity;
    this.signedPreKey = signedPreKey;
    this.kyberPreKey = kyberPreKey;
    this.oneTimePreKeys = oneTimePreKeys;
    this.store = new InMemorySignalProtocolStore(identity, registrationId);
    store.storeSignedPreKey(SIGNED_PREKEY_ID, signedPreKey);
    store.storeKyberPreKey(KYBER_PREKEY_ID, kyberPreKey);
    oneTimePreKeys.forEach(key -> store.storePreKey(key.getId(), key));
  }

  /** A new device with a signed prekey, the last-resort Kyber-1024 prekey and {@code oneTime} one-time prekeys. */
  static BenchDevice generate(int oneTime) {
    IdentityKeyPair identity = IdentityKeyPair.generate();
    long now = System.currentTimeMillis();
    return new BenchDevice(ThreadLocalRandom.current().nextInt(1, 16_381), identity,
        KeyMaterial.signedPreKey(SIGNED_PREKEY_ID, identity, now),
        KeyMaterial.kyberPreKey(KYBER_PREKEY_ID, identity, now),
        List.copyOf(KeyMaterial.oneTimePreKeys(1, oneTime)));
  }

  /** The body of {@code PUT /v1/keys/devices/{device}}: the public halves and their signatures. */
  ObjectNode keySet() {
    return KeyMaterial.fullKeySet(registrationId, identity.getPublicKey(), signedPreKey, kyberPreKey, oneTimePreKeys);
  }

  /**
   * Sets up a session with {@code peer}'s device from its bundle as the key directory hands it out (one
   * entry of {@code devices} in {@code GET /v1/keys/{accountId}}): PQXDH over the signed prekey, the Kyber
   * prekey and, when the bundle has one, a one-time prekey.
   */
  synchronized void startSession(String peer, JsonNode bundle) throws InvalidKeyException, UntrustedIdentityException {
    PreKeyBundle parsed = bundle(bundle);
    new SessionBuilder(store, store, store, store, address(peer, parsed.getDeviceId())).process(parsed);
  }

  synchronized boolean hasSession(String peer) {
    return store.containsSession(address(peer, BenchClient.DEVICE));
  }

  synchronized Sealed encrypt(String peer, byte[] plaintext) throws NoSessionException, UntrustedIdentityException {
    CiphertextMessage message = cipher(peer).encrypt(plaintext);
    return new Sealed(message.getType(), message.serialize());
  }

  /** Opens a message from {@code peer}; any failure (bad MAC, unknown session, replay) is an exception. */
  synchronized byte[] decrypt(String peer, int type, byte[] body) throws Exception {
    SessionCipher cipher = cipher(peer);
    return switch (type) {
      case CiphertextMessage.PREKEY_TYPE -> cipher.decrypt(new PreKeySignalMessage(body));
      case CiphertextMessage.WHISPER_TYPE -> cipher.decrypt(new SignalMessage(body));
      default -> throw new IllegalArgumentException("unknown Signal message type " + type);
    };
  }

  private SessionCipher cipher(String peer) {
    return new SessionCipher(store, store, store, store, store, address(peer, BenchClient.DEVICE));
  }

  private static SignalProtocolAddress address(String peer, int device) {
    return new SignalProtocolAddress(peer, device);
  }

  static PreKeyBundle bundle(JsonNode device) throws InvalidKeyException {
    return KeyMaterial.bundle(device);
  }
}
