package io.parley.client;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import org.signal.libsignal.protocol.IdentityKeyPair;
import org.signal.libsignal.protocol.state.KyberPreKeyRecord;
import org.signal.libsignal.protocol.state.PreKeyRecord;
import org.signal.libsignal.protocol.state.SignedPreKeyRecord;
import org.signal.libsignal.protocol.util.KeyHelper;

/**
 * This device's key lifecycle: the identity and first key set at registration, one-time prekeys topped up
 * when the directory runs low, the signed prekey and the last-resort Kyber prekey replaced periodically.
 * Runs on the client's worker thread.
 */
final class KeyManager {
  /** Signed and Kyber prekeys kept after rotation, for PreKey messages still in flight to this device. */
  private static final int KEEP_ROTATED = 3;

  private final DeviceStore store;
  private final Directory directory;
  private final Clock clock;
  private final int device;
  private final int oneTimePreKeys;
  private final Duration rotation;

  KeyManager(DeviceStore store, Directory directory, Clock clock, int device, int oneTimePreKeys, Duration rotation) {
    this.store = store;
    this.directory = directory;
    this.clock = clock;
    this.device = device;
    this.oneTimePreKeys = oneTimePreKeys;
    this.rotation = rotation;
  }

  /** Creates the identity if this store has none; then makes sure the directory has this device's keys. */
  void ensureRegistered() throws Directory.Refused {
    if (store.identity().isEmpty()) {
      IdentityKeyPair identity = IdentityKeyPair.generate();
      store.saveIdentity(new DeviceStore.Identity(KeyMaterial.b64(identity.serialize()),
          KeyHelper.generateRegistrationId(false), 1, 1, 1, 0));
      register();
      return;
    }
    Optional<Directory.Status> status = directory.status(device);
    if (status.isEmpty()) {
      register();
    } else {
      maintain(status.get());
    }
  }

  /** Publishes a complete new key set (a new device, or one the directory no longer knows). */
  void register() throws Directory.Refused {
    DeviceStore.Identity identity = store.identity().orElseThrow();
    IdentityKeyPair pair = identity.identityKeyPair();
    long now = clock.millis();
    SignedPreKeyRecord signed = KeyMaterial.signedPreKey(identity.nextSignedPreKeyId(), pair, now);
    KyberPreKeyRecord kyber = KeyMaterial.kyberPreKey(identity.nextKyberPreKeyId(), pair, now);
    List<PreKeyRecord> oneTime = KeyMaterial.oneTimePreKeys(identity.nextPreKeyId(), oneTimePreKeys);
    store.storeSignedPreKey(signed.getId(), signed);
    store.storeKyberPreKey(kyber.getId(), kyber);
    store.storePreKeys(oneTime);
    store.saveIdentity(identity.withCounters(nextAfter(oneTime, identity.nextPreKeyId()),
        KeyMaterial.nextId(signed.getId()), KeyMaterial.nextId(kyber.getId()), now));
    directory.putDevice(device, KeyMaterial.fullKeySet(identity.registrationId(), pair.getPublicKey(), signed,
        kyber, oneTime));
  }

  /** Tops up one-time prekeys when low and rotates the signed prekeys when due. */
  void maintain(Directory.Status status) throws Directory.Refused {
    DeviceStore.Identity identity = store.identity().orElseThrow();
    boolean rotate = clock.millis() - identity.signedPreKeyRotatedAt() >= rotation.toMillis();
    int missing = status.low() || status.oneTimePreKeys() < oneTimePreKeys / 2
        ? Math.max(0, oneTimePreKeys - status.oneTimePreKeys()) : 0;
    if (missing == 0 && !rotate) {
      return;
    }
    IdentityKeyPair pair = identity.identityKeyPair();
    long now = clock.millis();
    List<PreKeyRecord> oneTime = KeyMaterial.oneTimePreKeys(identity.nextPreKeyId(), missing);
    ObjectNode body = Json.object();
    body.set("oneTimePreKeys", KeyMaterial.json(oneTime));
    int nextSigned = identity.nextSignedPreKeyId();
    int nextKyber = identity.nextKyberPreKeyId();
    long rotatedAt = identity.signedPreKeyRotatedAt();
    if (rotate) {
      SignedPreKeyRecord signed = KeyMaterial.signedPreKey(nextSigned, pair, now);
      KyberPreKeyRecord kyber = KeyMaterial.kyberPreKey(nextKyber, pair, now);
      store.storeSignedPreKey(signed.getId(), signed);
      store.storeKyberPreKey(kyber.getId(), kyber);
      body.set("signedPreKey", KeyMaterial.json(signed));
      body.set("kyberPreKey", KeyMaterial.json(kyber));
      nextSigned = KeyMaterial.nextId(signed.getId());
      nextKyber = KeyMaterial.nextId(kyber.getId());
      rotatedAt = now;
    }
    store.storePreKeys(oneTime);
    store.saveIdentity(identity.withCounters(nextAfter(oneTime, identity.nextPreKeyId()), nextSigned, nextKyber,
        rotatedAt));
    directory.addPreKeys(device, body);
    if (rotate) {
      pruneRotated();
    }
  }

  /** After {@code keysLow}: asks the directory how many are left and tops up. */
  void replenish() throws Directory.Refused {
    Optional<Directory.Status> status = directory.status(device);
    if (status.isEmpty()) {
      register();
    } else {
      maintain(new Directory.Status(device, status.get().oneTimePreKeys(), true));
    }
  }

  private void pruneRotated() {
    List<SignedPreKeyRecord> signed = store.loadSignedPreKeys().stream()
        .sorted((a, b) -> Long.compare(b.getTimestamp(), a.getTimestamp())).toList();
    signed.stream().skip(KEEP_ROTATED).forEach(record -> store.removeSignedPreKey(record.getId()));
    List<KyberPreKeyRecord> kyber = store.loadKyberPreKeys().stream()
        .sorted((a, b) -> Long.compare(b.getTimestamp(), a.getTimestamp())).toList();
    kyber.stream().skip(KEEP_ROTATED).forEach(record -> store.removeKyberPreKey(record.getId()));
  }

  private static int nextAfter(List<PreKeyRecord> keys, int first) {
    return keys.isEmpty() ? first : KeyMaterial.nextId(keys.get(keys.size() - 1).getId());
  }
}
