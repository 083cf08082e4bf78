package io.parley.client;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import org.signal.libsignal.protocol.IdentityKey;
import org.signal.libsignal.protocol.IdentityKeyPair;
import org.signal.libsignal.protocol.InvalidKeyException;
import org.signal.libsignal.protocol.ecc.ECKeyPair;
import org.signal.libsignal.protocol.ecc.ECPublicKey;
import org.signal.libsignal.protocol.kem.KEMKeyPair;
import org.signal.libsignal.protocol.kem.KEMKeyType;
import org.signal.libsignal.protocol.kem.KEMPublicKey;
import org.signal.libsignal.protocol.state.KyberPreKeyRecord;
import org.signal.libsignal.protocol.state.PreKeyBundle;
import org.signal.libsignal.protocol.state.PreKeyRecord;
import org.signal.libsignal.protocol.state.SignedPreKeyRecord;

/** Generates this device's keys and converts keys to and from the directory's JSON. */
public final class KeyMaterial {
  /** Key ids are 1–16,777,215 (docs/protocol.md). */
  static final int MAX_KEY_ID = 0xFFFFFF;

  private KeyMaterial() {}

  public static SignedPreKeyRecord signedPreKey(int id, IdentityKeyPair identity, long timestamp) {
    ECKeyPair pair = ECKeyPair.generate();
    byte[] signature = identity.getPrivateKey().calculateSignature(pair.getPublicKey().serialize());
    return new SignedPreKeyRecord(id, timestamp, pair, signature);
  }

  public static KyberPreKeyRecord kyberPreKey(int id, IdentityKeyPair identity, long timestamp) {
    KEMKeyPair pair = KEMKeyPair.generate(KEMKeyType.KYBER_1024);
    byte[] signature = identity.getPrivateKey().calculateSignature(pair.getPublicKey().serialize());
    return new KyberPreKeyRecord(id, timestamp, pair, signature);
  }

  public static List<PreKeyRecord> oneTimePreKeys(int firstId, int count) {
    List<PreKeyRecord> keys = new ArrayList<>(count);
    int id = firstId;
    for (int i = 0; i < count; i++) {
      keys.add(new PreKeyRecord(id, ECKeyPair.generate()));
      id = nextId(id);
    }
    return keys;
  }

  static int nextId(int id) {
    return id >= MAX_KEY_ID ? 1 : id + 1;
  }

  public static ObjectNode fullKeySet(int registrationId, IdentityKey identity, SignedPreKeyRecord signed,
                               KyberPreKeyRecord kyber, List<PreKeyRecord> oneTime) {
    ObjectNode body = Json.object();
    body.put("registrationId", registrationId);
    body.put("identityKey", b64(identity.serialize()));
    body.set("signedPreKey", json(signed));
    body.set("kyberPreKey", json(kyber));
    body.set("oneTimePreKeys", json(oneTime));
    return body;
  }

  static ObjectNode json(SignedPreKeyRecord record) {
    try {
      ObjectNode node = Json.object();
      node.put("keyId", record.getId());
      node.put("publicKey", b64(record.getKeyPair().getPublicKey().serialize()));
      node.put("signature", b64(record.getSignature()));
      return node;
    } catch (InvalidKeyException e) {
      throw new ParleyClientException.StoreFailure("a signed prekey in the store is damaged", e);
    }
  }

  static ObjectNode json(KyberPreKeyRecord record) {
    try {
      ObjectNode node = Json.object();
      node.put("keyId", record.getId());
      node.put("publicKey", b64(record.getKeyPair().getPublicKey().serialize()));
      node.put("signature", b64(record.getSignature()));
      return node;
    } catch (InvalidKeyException e) {
      throw new ParleyClientException.StoreFailure("a Kyber prekey in the store is damaged", e);
    }
  }

  static ArrayNode json(List<PreKeyRecord> records) {
    ArrayNode array = Json.MAPPER.createArrayNode();
    for (PreKeyRecord record : records) {
      try {
        array.addObject().put("keyId", record.getId())
            .put("publicKey", b64(record.getKeyPair().getPublicKey().serialize()));
      } catch (InvalidKeyException e) {
        throw new ParleyClientException.StoreFailure("a one-time prekey in the store is damaged", e);
      }
    }
    return array;
  }

  /** A device's bundle from {@code GET /v1/keys/…}; without {@code oneTimePreKey} when it had none left. */
  public static PreKeyBundle bundle(JsonNode device) throws InvalidKeyException {
    JsonNode signed = device.path("signedPreKey");
    JsonNode kyber = device.path("kyberPreKey");
    JsonNode oneTime = device.path("oneTimePreKey");
    boolean hasOneTime = oneTime.isObject() && oneTime.has("publicKey");
    return new PreKeyBundle(
        device.path("registrationId").asInt(),
        device.path("device").asInt(),
        hasOneTime ? oneTime.path("keyId").asInt() : PreKeyBundle.NULL_PRE_KEY_ID,
        hasOneTime ? new ECPublicKey(unb64(oneTime.path("publicKey").asText())) : null,
        signed.path("keyId").asInt(),
        new ECPublicKey(unb64(signed.path("publicKey").asText())),
        unb64(signed.path("signature").asText()),
        new IdentityKey(unb64(device.path("identityKey").asText())),
        kyber.path("keyId").asInt(),
        new KEMPublicKey(unb64(kyber.path("publicKey").asText())),
        unb64(kyber.path("signature").asText()));
  }

  static String b64(byte[] bytes) {
    return Base64.getEncoder().encodeToString(bytes);
  }

  static byte[] unb64(String text) {
    return Base64.getDecoder().decode(text);
  }
}
