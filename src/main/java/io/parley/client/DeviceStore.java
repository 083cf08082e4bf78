package io.parley.client;

import com.fasterxml.jackson.core.type.TypeReference;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import org.signal.libsignal.protocol.IdentityKey;
import org.signal.libsignal.protocol.IdentityKeyPair;
import org.signal.libsignal.protocol.InvalidKeyException;
import org.signal.libsignal.protocol.InvalidKeyIdException;
import org.signal.libsignal.protocol.InvalidMessageException;
import org.signal.libsignal.protocol.NoSessionException;
import org.signal.libsignal.protocol.ReusedBaseKeyException;
import org.signal.libsignal.protocol.SignalProtocolAddress;
import org.signal.libsignal.protocol.ecc.ECPublicKey;
import org.signal.libsignal.protocol.state.IdentityKeyStore;
import org.signal.libsignal.protocol.state.KyberPreKeyRecord;
import org.signal.libsignal.protocol.state.KyberPreKeyStore;
import org.signal.libsignal.protocol.state.PreKeyRecord;
import org.signal.libsignal.protocol.state.PreKeyStore;
import org.signal.libsignal.protocol.state.SessionRecord;
import org.signal.libsignal.protocol.state.SessionStore;
import org.signal.libsignal.protocol.state.SignedPreKeyRecord;
import org.signal.libsignal.protocol.state.SignedPreKeyStore;

/**
 * One device's Signal state (identity, prekeys, sessions, the identities it trusts) and the client's own
 * state (cursors, participants, unacknowledged sends, decrypted messages not yet handed to the app), all
 * in a {@link StoreVault}: encrypted at rest, written through on every change, in a directory or another
 * {@link VaultStorage}.
 *
 * <p>Identities are trusted on first use; a changed identity key is untrusted, in both directions, until
 * the application accepts it ({@link #forgetIdentities}).
 */
final class DeviceStore implements IdentityKeyStore, PreKeyStore, SignedPreKeyStore, KyberPreKeyStore,
    SessionStore, AutoCloseable {

  /** This device's identity and the counters of the key ids it hands out. */
  record Identity(String keyPair, int registrationId, int nextPreKeyId, int nextSignedPreKeyId,
                  int nextKyberPreKeyId, long signedPreKeyRotatedAt) {
    IdentityKeyPair identityKeyPair() {
      try {
        return new IdentityKeyPair(Base64.getDecoder().decode(keyPair));
      } catch (InvalidKeyException e) {
        throw new ParleyClientException.StoreFailure("identity key in the store is damaged", e);
      }
    }

    Identity withCounters(int preKey, int signedPreKey, int kyberPreKey, long rotatedAt) {
      return new Identity(keyPair, registrationId, preKey, signedPreKey, kyberPreKey, rotatedAt);
    }
  }

  /** A send the server has not acknowledged yet; {@code frame} is the exact send frame to repeat. */
  record PendingSend(String idempotencyKey, String conversationId, String text, long sentAt, String frame) {}

  /** A decrypted message not yet acknowledged by the application's callback. */
  record Inbound(String conversationId, long seq, String fromUser, int fromDevice, String text, long sentAt,
                 long storedAt) {}

  private record SessionFile(String name, int device, String record) {}

  private record KyberState(Map<Integer, String> keys, Set<String> usedBaseKeys) {}

  private static final TypeReference<Map<Integer, String>> ID_MAP = new TypeReference<>() {};
  private static final TypeReference<Map<String, String>> STRING_MAP = new TypeReference<>() {};
  private static final TypeReference<Map<String, Long>> CURSOR_MAP = new TypeReference<>() {};
  private static final TypeReference<Map<String, List<String>>> MEMBER_MAP = new TypeReference<>() {};
  private static final TypeReference<List<PendingSend>> PENDING_LIST = new TypeReference<>() {};
  private static final TypeReference<List<Inbound>> INBOUND_LIST = new TypeReference<>() {};

  private final StoreVault vault;
  private Identity identity;
  private final Map<Integer, String> preKeys;
  private final Map<Integer, String> signedPreKeys;
  private final KyberState kyber;
  private final Map<String, String> identities;
  private final Map<String, SessionFile> sessions = new HashMap<>();
  private final Map<String, Long> cursors;
  private final Map<String, List<String>> participants;
  private final Map<String, PendingSend> pending = new LinkedHashMap<>();
  private final Map<String, Inbound> inbox = new LinkedHashMap<>();

  private DeviceStore(StoreVault vault) {
    this.vault = vault;
    this.identity = load("identity", Identity.class).orElse(null);
    this.preKeys = new TreeMap<>(load("prekeys", ID_MAP).orElse(Map.of()));
    this.signedPreKeys = new TreeMap<>(load("signed-prekeys", ID_MAP).orElse(Map.of()));
    KyberState storedKyber = load("kyber-prekeys", KyberState.class).orElse(new KyberState(Map.of(), Set.of()));
    this.kyber = new KyberState(new TreeMap<>(storedKyber.keys()), new HashSet<>(storedKyber.usedBaseKeys()));
    this.identities = new HashMap<>(load("identities", STRING_MAP).orElse(Map.of()));
    this.cursors = new HashMap<>(load("cursors", CURSOR_MAP).orElse(Map.of()));
    this.participants = new HashMap<>(load("participants", MEMBER_MAP).orElse(Map.of()));
    load("pending", PENDING_LIST).orElse(List.of()).forEach(send -> pending.put(send.idempotencyKey(), send));
    load("inbox", INBOUND_LIST).orElse(List.of()).forEach(in -> inbox.put(in.conversationId() + "#" + in.seq(), in));
    for (String file : vault.list("sessions")) {
      vault.read(file).map(bytes -> Json.read(bytes, SessionFile.class))
          .ifPresent(session -> sessions.put(addressKey(session.name(), session.device()), session));
    }
  }

  static DeviceStore open(Path directory, StoreKey key) {
    return load(StoreVault.open(directory, key));
  }

  static DeviceStore open(VaultStorage storage, StoreKey key) {
    return load(StoreVault.open(storage, key));
  }

  private static DeviceStore load(StoreVault vault) {
    try {
      return new DeviceStore(vault);
    } catch (RuntimeException e) {
      vault.close();
      throw e;
    }
  }

  // ---- this device's identity and key counters ----

  synchronized Optional<Identity> identity() {
    return Optional.ofNullable(identity);
  }

  synchronized void saveIdentity(Identity newIdentity) {
    identity = newIdentity;
    save("identity", newIdentity);
  }

  private Identity requireIdentity() {
    if (identity == null) {
      throw new IllegalStateException("the device has no identity yet");
    }
    return identity;
  }

  @Override
  public synchronized IdentityKeyPair getIdentityKeyPair() {
    return requireIdentity().identityKeyPair();
  }

  @Override
  public synchronized int getLocalRegistrationId() {
    return requireIdentity().registrationId();
  }

  // ---- other devices' identities: trust on first use ----

  @Override
  public synchronized IdentityChange saveIdentity(SignalProtocolAddress address, IdentityKey identityKey) {
    String key = addressKey(address);
    String encoded = Base64.getEncoder().encodeToString(identityKey.serialize());
    String previous = identities.put(key, encoded);
    if (!encoded.equals(previous)) {
      save("identities", identities);
    }
    return previous == null || previous.equals(encoded) ? IdentityChange.NEW_OR_UNCHANGED
        : IdentityChange.REPLACED_EXISTING;
  }

  @Override
  public synchronized boolean isTrustedIdentity(SignalProtocolAddress address, IdentityKey identityKey,
                                                Direction direction) {
    String known = identities.get(addressKey(address));
    return known == null || known.equals(Base64.getEncoder().encodeToString(identityKey.serialize()));
  }

  @Override
  public synchronized IdentityKey getIdentity(SignalProtocolAddress address) {
    String known = identities.get(addressKey(address));
    try {
      return known == null ? null : new IdentityKey(Base64.getDecoder().decode(known));
    } catch (InvalidKeyException e) {
      throw new ParleyClientException.StoreFailure("a stored identity key is damaged", e);
    }
  }

  /** Forgets the trusted identities and sessions of every device of {@code name}. */
  synchronized void forgetIdentities(String name) {
    identities.keySet().removeIf(key -> key.startsWith(name + "."));
    save("identities", identities);
    deleteAllSessions(name);
  }

  // ---- one-time prekeys ----

  @Override
  public synchronized PreKeyRecord loadPreKey(int preKeyId) throws InvalidKeyIdException {
    String record = preKeys.get(preKeyId);
    if (record == null) {
      throw new InvalidKeyIdException("no one-time prekey " + preKeyId);
    }
    try {
      return new PreKeyRecord(Base64.getDecoder().decode(record));
    } catch (InvalidMessageException e) {
      throw new InvalidKeyIdException(e);
    }
  }

  @Override
  public synchronized void storePreKey(int preKeyId, PreKeyRecord record) {
    preKeys.put(preKeyId, Base64.getEncoder().encodeToString(record.serialize()));
    save("prekeys", preKeys);
  }

  /** Stores many one-time prekeys with one write. */
  synchronized void storePreKeys(List<PreKeyRecord> records) {
    records.forEach(record -> preKeys.put(record.getId(), Base64.getEncoder().encodeToString(record.serialize())));
    save("prekeys", preKeys);
  }

  @Override
  public synchronized boolean containsPreKey(int preKeyId) {
    return preKeys.containsKey(preKeyId);
  }

  @Override
  public synchronized void removePreKey(int preKeyId) {
    if (preKeys.remove(preKeyId) != null) {
      save("prekeys", preKeys);
    }
  }

  synchronized void clearPreKeys() {
    preKeys.clear();
    save("prekeys", preKeys);
  }

  synchronized int preKeyCount() {
    return preKeys.size();
  }

  // ---- signed prekeys ----

  @Override
  public synchronized SignedPreKeyRecord loadSignedPreKey(int signedPreKeyId) throws InvalidKeyIdException {
    String record = signedPreKeys.get(signedPreKeyId);
    if (record == null) {
      throw new InvalidKeyIdException("no signed prekey " + signedPreKeyId);
    }
    try {
      return new SignedPreKeyRecord(Base64.getDecoder().decode(record));
    } catch (InvalidMessageException e) {
      throw new InvalidKeyIdException(e);
    }
  }

  @Override
  public synchronized List<SignedPreKeyRecord> loadSignedPreKeys() {
    List<SignedPreKeyRecord> records = new ArrayList<>();
    for (int id : signedPreKeys.keySet()) {
      try {
        records.add(loadSignedPreKey(id));
      } catch (InvalidKeyIdException e) {
        throw new ParleyClientException.StoreFailure("a stored signed prekey is damaged", e);
      }
    }
    return records;
  }

  @Override
  public synchronized void storeSignedPreKey(int signedPreKeyId, SignedPreKeyRecord record) {
    signedPreKeys.put(signedPreKeyId, Base64.getEncoder().encodeToString(record.serialize()));
    save("signed-prekeys", signedPreKeys);
  }

  @Override
  public synchronized boolean containsSignedPreKey(int signedPreKeyId) {
    return signedPreKeys.containsKey(signedPreKeyId);
  }

  @Override
  public synchronized void removeSignedPreKey(int signedPreKeyId) {
    if (signedPreKeys.remove(signedPreKeyId) != null) {
      save("signed-prekeys", signedPreKeys);
    }
  }

  // ---- Kyber prekeys: only signed last-resort ones, so a base key may never be used twice with one ----

  @Override
  public synchronized KyberPreKeyRecord loadKyberPreKey(int kyberPreKeyId) throws InvalidKeyIdException {
    String record = kyber.keys().get(kyberPreKeyId);
    if (record == null) {
      throw new InvalidKeyIdException("no Kyber prekey " + kyberPreKeyId);
    }
    try {
      return new KyberPreKeyRecord(Base64.getDecoder().decode(record));
    } catch (InvalidMessageException e) {
      throw new InvalidKeyIdException(e);
    }
  }

  @Override
  public synchronized List<KyberPreKeyRecord> loadKyberPreKeys() {
    List<KyberPreKeyRecord> records = new ArrayList<>();
    for (int id : kyber.keys().keySet()) {
      try {
        records.add(loadKyberPreKey(id));
      } catch (InvalidKeyIdException e) {
        throw new ParleyClientException.StoreFailure("a stored Kyber prekey is damaged", e);
      }
    }
    return records;
  }

  @Override
  public synchronized void storeKyberPreKey(int kyberPreKeyId, KyberPreKeyRecord record) {
    kyber.keys().put(kyberPreKeyId, Base64.getEncoder().encodeToString(record.serialize()));
    save("kyber-prekeys", kyber);
  }

  @Override
  public synchronized boolean containsKyberPreKey(int kyberPreKeyId) {
    return kyber.keys().containsKey(kyberPreKeyId);
  }

  @Override
  public synchronized void markKyberPreKeyUsed(int kyberPreKeyId, int signedPreKeyId, ECPublicKey baseKey)
      throws ReusedBaseKeyException {
    String use = kyberPreKeyId + ":" + signedPreKeyId + ":" + Base64.getEncoder().encodeToString(baseKey.serialize());
    if (!kyber.usedBaseKeys().add(use)) {
      throw new ReusedBaseKeyException("a PreKey message reused a base key with last-resort Kyber prekey " + kyberPreKeyId);
    }
    save("kyber-prekeys", kyber);
  }

  synchronized void removeKyberPreKey(int kyberPreKeyId) {
    if (kyber.keys().remove(kyberPreKeyId) != null) {
      kyber.usedBaseKeys().removeIf(use -> use.startsWith(kyberPreKeyId + ":"));
      save("kyber-prekeys", kyber);
    }
  }

  // ---- sessions ----

  @Override
  public synchronized SessionRecord loadSession(SignalProtocolAddress address) {
    SessionFile file = sessions.get(addressKey(address));
    if (file == null) {
      return new SessionRecord();
    }
    try {
      return new SessionRecord(Base64.getDecoder().decode(file.record()));
    } catch (InvalidMessageException e) {
      throw new ParleyClientException.StoreFailure("a stored session is damaged", e);
    }
  }

  @Override
  public synchronized List<SessionRecord> loadExistingSessions(List<SignalProtocolAddress> addresses)
      throws NoSessionException {
    List<SessionRecord> records = new ArrayList<>();
    for (SignalProtocolAddress address : addresses) {
      if (!sessions.containsKey(addressKey(address))) {
        throw new NoSessionException("no session with " + address.getDeviceId());
      }
      records.add(loadSession(address));
    }
    return records;
  }

  @Override
  public synchronized List<Integer> getSubDeviceSessions(String name) {
    return sessions.values().stream().filter(file -> file.name().equals(name)).map(SessionFile::device)
        .sorted().toList();
  }

  @Override
  public synchronized void storeSession(SignalProtocolAddress address, SessionRecord record) {
    String key = addressKey(address);
    SessionFile file = new SessionFile(address.getName(), address.getDeviceId(),
        Base64.getEncoder().encodeToString(record.serialize()));
    sessions.put(key, file);
    save(vault.hiddenName("sessions/", key), file);
  }

  @Override
  public synchronized boolean containsSession(SignalProtocolAddress address) {
    SessionFile file = sessions.get(addressKey(address));
    if (file == null) {
      return false;
    }
    // an archived-only record (no current state) does not count as a session to encrypt with
    return loadSession(address).hasSenderChain();
  }

  @Override
  public synchronized void deleteSession(SignalProtocolAddress address) {
    String key = addressKey(address);
    if (sessions.remove(key) != null) {
      vault.delete(vault.hiddenName("sessions/", key));
    }
  }

  @Override
  public synchronized void deleteAllSessions(String name) {
    for (int device : getSubDeviceSessions(name)) {
      deleteSession(new SignalProtocolAddress(name, device));
    }
  }

  // ---- the client's own state ----

  synchronized Map<String, Long> cursors() {
    return Map.copyOf(cursors);
  }

  synchronized long cursor(String conversationId) {
    return cursors.getOrDefault(conversationId, 0L);
  }

  synchronized void saveCursor(String conversationId, long seq) {
    if (seq > cursors.getOrDefault(conversationId, 0L)) {
      cursors.put(conversationId, seq);
      save("cursors", cursors);
    }
  }

  synchronized List<String> participants(String conversationId) {
    return participants.getOrDefault(conversationId, List.of());
  }

  synchronized void saveParticipants(String conversationId, List<String> members) {
    participants.put(conversationId, List.copyOf(members));
    save("participants", participants);
  }

  synchronized List<PendingSend> pendingSends() {
    return List.copyOf(pending.values());
  }

  /** The oldest pending send to {@code conversationId}: the one of that conversation allowed on the wire. */
  synchronized Optional<PendingSend> firstPendingOf(String conversationId) {
    return pending.values().stream().filter(send -> send.conversationId().equals(conversationId)).findFirst();
  }

  synchronized Optional<PendingSend> pendingSend(String idempotencyKey) {
    return Optional.ofNullable(pending.get(idempotencyKey));
  }

  synchronized void savePending(PendingSend send) {
    pending.put(send.idempotencyKey(), send);
    save("pending", List.copyOf(pending.values()));
  }

  synchronized void removePending(String idempotencyKey) {
    if (pending.remove(idempotencyKey) != null) {
      save("pending", List.copyOf(pending.values()));
    }
  }

  synchronized Optional<Inbound> inbound(String conversationId, long seq) {
    return Optional.ofNullable(inbox.get(conversationId + "#" + seq));
  }

  synchronized void saveInbound(Inbound message) {
    inbox.put(message.conversationId() + "#" + message.seq(), message);
    save("inbox", List.copyOf(inbox.values()));
  }

  /** The app has the message: its cursor moves and its plaintext leaves the store, in that order. */
  synchronized void delivered(String conversationId, long seq) {
    saveCursor(conversationId, seq);
    if (inbox.remove(conversationId + "#" + seq) != null) {
      save("inbox", List.copyOf(inbox.values()));
    }
  }

  @Override
  public void close() {
    vault.close();
  }

  // ---- persistence ----

  private <T> Optional<T> load(String name, Class<T> type) {
    return vault.read(name).map(bytes -> Json.read(bytes, type));
  }

  private <T> Optional<T> load(String name, TypeReference<T> type) {
    return vault.read(name).map(bytes -> {
      try {
        return Json.MAPPER.readValue(bytes, type);
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    });
  }

  private void save(String name, Object value) {
    vault.write(name, Json.writeBytes(value));
  }

  private static String addressKey(SignalProtocolAddress address) {
    return addressKey(address.getName(), address.getDeviceId());
  }

  private static String addressKey(String name, int device) {
    return name + "." + device;
  }
}
