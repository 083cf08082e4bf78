package io.parley.directory;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.signal.libsignal.protocol.IdentityKey;
import org.signal.libsignal.protocol.InvalidKeyException;
import org.signal.libsignal.protocol.ecc.ECPublicKey;
import org.signal.libsignal.protocol.kem.KEMPublicKey;

/**
 * Reads published keys from request JSON and checks them before the directory sees them: JSON types,
 * key id ranges, base64, lengths and type bytes, that libsignal can load each key, and that both prekey
 * signatures verify against the identity key. See docs/protocol.md, "Key directory (REST)".
 */
final class KeyChecks {
  static final int MAX_UPLOAD = 100;
  static final int MAX_KEY_ID = 0xFF_FFFF;
  static final int MAX_REGISTRATION_ID = 0x3FFF;
  static final int EC_KEY_BYTES = 33;
  static final int KYBER_KEY_BYTES = 1569;
  static final int SIGNATURE_BYTES = 64;
  private static final byte EC_TYPE = 0x05;
  private static final byte KYBER_TYPE = 0x08;

  /** A request that cannot be taken: {@code code} is {@code invalid_keys} or {@code invalid_request}. */
  static final class Invalid extends RuntimeException {
    final String code;

    Invalid(String code, String message) {
      super(message, null, false, false);
      this.code = code;
    }

    static Invalid keys(String message) {
      return new Invalid("invalid_keys", message);
    }

    static Invalid request(String message) {
      return new Invalid("invalid_request", message);
    }
  }

  /** What {@code POST .../prekeys} carries; the signed keys are null when not rotated. */
  record PreKeyUpload(List<PreKey> oneTimePreKeys, SignedPreKey signedPreKey, SignedPreKey kyberPreKey) {
    boolean rotates() {
      return signedPreKey != null || kyberPreKey != null;
    }
  }

  private KeyChecks() {}

  /** The body of {@code PUT /v1/keys/devices/{device}}. */
  static DeviceKeys keySet(JsonNode body) {
    requireObject(body, "the body");
    int registrationId = intField(body, "registrationId", 1, MAX_REGISTRATION_ID);
    byte[] identityBytes = key(body, "identityKey", EC_KEY_BYTES, EC_TYPE);
    IdentityKey identity = identityKey(identityBytes);
    SignedPreKey signed = signedPreKey(required(body, "signedPreKey"), "signedPreKey", identity);
    SignedPreKey kyber = kyberPreKey(required(body, "kyberPreKey"), "kyberPreKey", identity);
    List<PreKey> oneTime = oneTimePreKeys(required(body, "oneTimePreKeys"));
    return new DeviceKeys(registrationId, identityBytes, signed, kyber, oneTime);
  }

  /**
   * The body of {@code POST /v1/keys/devices/{device}/prekeys}; rotated signed keys are verified against
   * {@code identityKey}, the device's stored identity key (null: the upload must not rotate).
   */
  static PreKeyUpload preKeyUpload(JsonNode body, byte[] identityKey) {
    requireObject(body, "the body");
    List<PreKey> oneTime = oneTimePreKeys(required(body, "oneTimePreKeys"));
    JsonNode signedNode = body.get("signedPreKey");
    JsonNode kyberNode = body.get("kyberPreKey");
    IdentityKey identity = identityKey == null ? null : identityKey(identityKey);
    SignedPreKey signed = present(signedNode) ? signedPreKey(signedNode, "signedPreKey", identity) : null;
    SignedPreKey kyber = present(kyberNode) ? kyberPreKey(kyberNode, "kyberPreKey", identity) : null;
    if (oneTime.isEmpty() && signed == null && kyber == null) {
      throw Invalid.request("nothing to add: give oneTimePreKeys, signedPreKey or kyberPreKey");
    }
    return new PreKeyUpload(oneTime, signed, kyber);
  }

  /** Whether the upload rotates a signed key, so its signature needs the stored identity key. */
  static boolean rotates(JsonNode body) {
    return body.isObject() && (present(body.get("signedPreKey")) || present(body.get("kyberPreKey")));
  }

  private static boolean present(JsonNode node) {
    return node != null && !node.isNull();
  }

  private static List<PreKey> oneTimePreKeys(JsonNode array) {
    if (!array.isArray()) {
      throw Invalid.request("oneTimePreKeys must be an array");
    }
    if (array.size() > MAX_UPLOAD) {
      throw Invalid.request("at most " + MAX_UPLOAD + " one-time prekeys per upload");
    }
    List<PreKey> keys = new ArrayList<>(array.size());
    Set<Integer> ids = new HashSet<>();
    for (JsonNode node : array) {
      requireObject(node, "a one-time prekey");
      int keyId = intField(node, "keyId", 1, MAX_KEY_ID);
      if (!ids.add(keyId)) {
        throw Invalid.keys("one-time prekey id " + keyId + " appears twice");
      }
      byte[] publicKey = key(node, "publicKey", EC_KEY_BYTES, EC_TYPE);
      try {
        new ECPublicKey(publicKey);
      } catch (InvalidKeyException | RuntimeException e) {
        throw Invalid.keys("one-time prekey " + keyId + " is not an EC public key");
      }
      keys.add(new PreKey(keyId, publicKey));
    }
    return List.copyOf(keys);
  }

  private static SignedPreKey signedPreKey(JsonNode node, String name, IdentityKey identity) {
    requireObject(node, name);
    int keyId = intField(node, "keyId", 1, MAX_KEY_ID);
    byte[] publicKey = key(node, "publicKey", EC_KEY_BYTES, EC_TYPE);
    byte[] signature = bytes(node, "signature", SIGNATURE_BYTES);
    try {
      new ECPublicKey(publicKey);
    } catch (InvalidKeyException | RuntimeException e) {
      throw Invalid.keys(name + " is not an EC public key");
    }
    verify(identity, publicKey, signature, name);
    return new SignedPreKey(keyId, publicKey, signature);
  }

  private static SignedPreKey kyberPreKey(JsonNode node, String name, IdentityKey identity) {
    requireObject(node, name);
    int keyId = intField(node, "keyId", 1, MAX_KEY_ID);
    byte[] publicKey = key(node, "publicKey", KYBER_KEY_BYTES, KYBER_TYPE);
    byte[] signature = bytes(node, "signature", SIGNATURE_BYTES);
    try {
      new KEMPublicKey(publicKey);
    } catch (InvalidKeyException | RuntimeException e) {
      throw Invalid.keys(name + " is not a Kyber-1024 public key");
    }
    verify(identity, publicKey, signature, name);
    return new SignedPreKey(keyId, publicKey, signature);
  }

  private static void verify(IdentityKey identity, byte[] publicKey, byte[] signature, String name) {
    if (identity == null) {
      throw Invalid.keys(name + " cannot be checked: the device has no identity key");
    }
    boolean valid;
    try {
      valid = identity.getPublicKey().verifySignature(publicKey, signature);
    } catch (RuntimeException e) {
      valid = false;
    }
    if (!valid) {
      throw Invalid.keys(name + " signature does not verify against the identity key");
    }
  }

  private static IdentityKey identityKey(byte[] bytes) {
    try {
      return new IdentityKey(bytes);
    } catch (InvalidKeyException | RuntimeException e) {
      throw Invalid.keys("identityKey is not an EC public key");
    }
  }

  private static byte[] key(JsonNode node, String field, int length, byte type) {
    byte[] bytes = bytes(node, field, length);
    if (bytes[0] != type) {
      throw Invalid.keys(field + " has the wrong key type");
    }
    return bytes;
  }

  private static byte[] bytes(JsonNode node, String field, int length) {
    JsonNode value = required(node, field);
    if (!value.isTextual()) {
      throw Invalid.keys(field + " must be a base64 string");
    }
    byte[] bytes;
    try {
      bytes = Base64.getDecoder().decode(value.textValue());
    } catch (IllegalArgumentException e) {
      throw Invalid.keys(field + " is not base64");
    }
    if (bytes.length != length) {
      throw Invalid.keys(field + " must be " + length + " bytes");
    }
    return bytes;
  }

  private static int intField(JsonNode node, String field, int min, int max) {
    JsonNode value = required(node, field);
    if (!value.isIntegralNumber() || !value.canConvertToInt() || value.intValue() < min || value.intValue() > max) {
      throw Invalid.request(field + " must be an integer from " + min + " to " + max);
    }
    return value.intValue();
  }

  private static JsonNode required(JsonNode node, String field) {
    JsonNode value = node.get(field);
    if (value == null || value.isNull()) {
      throw Invalid.request(field + " is required");
    }
    return value;
  }

  private static void requireObject(JsonNode node, String what) {
    if (!node.isObject()) {
      throw Invalid.request(what + " must be a JSON object");
    }
  }
}
