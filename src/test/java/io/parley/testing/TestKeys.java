package io.parley.testing;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.parley.ParleyNode;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.function.Supplier;
import org.signal.libsignal.protocol.IdentityKey;
import org.signal.libsignal.protocol.IdentityKeyPair;
import org.signal.libsignal.protocol.ecc.ECKeyPair;
import org.signal.libsignal.protocol.ecc.ECPublicKey;
import org.signal.libsignal.protocol.kem.KEMKeyPair;
import org.signal.libsignal.protocol.kem.KEMKeyType;
import org.signal.libsignal.protocol.kem.KEMPublicKey;
import org.signal.libsignal.protocol.state.KyberPreKeyRecord;
import org.signal.libsignal.protocol.state.PreKeyBundle;
import org.signal.libsignal.protocol.state.PreKeyRecord;
import org.signal.libsignal.protocol.state.SignedPreKeyRecord;
import org.signal.libsignal.protocol.state.impl.InMemorySignalProtocolStore;
import org.signal.libsignal.protocol.util.KeyHelper;

/**
 * Real libsignal key sets for test devices, and the key directory's REST calls over real HTTP.
 *
 * <pre>
 * TestKeys.KeySet keys = TestKeys.register(node, alice.token(), 1);   // 100 one-time prekeys
 * InMemorySignalProtocolStore store = keys.store();                   // to decrypt what others send
 * List&lt;PreKeyBundle&gt; bobs = TestKeys.claimAll(port, alice.token(), bob.accountId());
 * </pre>
 */
public final class TestKeys {
  public static final int DEFAULT_PREKEYS = 100;
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final HttpClient HTTP = HttpClient.newHttpClient();
  private static final Base64.Encoder BASE64 = Base64.getEncoder();
  private static final Base64.Decoder BASE64_DECODER = Base64.getDecoder();

  private TestKeys() {}

  /** A device's private and public keys; the public half is what it publishes. */
  public record KeySet(int registrationId, IdentityKeyPair identity, SignedPreKeyRecord signedPreKey,
                       KyberPreKeyRecord kyberPreKey, List<PreKeyRecord> oneTimePreKeys) {

    /** The {@code PUT /v1/keys/devices/{device}} body. */
    public String putBody() {
      try {
        ObjectNode root = JSON.createObjectNode()
            .put("registrationId", registrationId)
            .put("identityKey", base64(identity.getPublicKey().serialize()));
        root.set("signedPreKey", signed(signedPreKey.getId(), signedPreKey.getKeyPair().getPublicKey().serialize(),
            signedPreKey.getSignature()));
        root.set("kyberPreKey", signed(kyberPreKey.getId(), kyberPreKey.getKeyPair().getPublicKey().serialize(),
            kyberPreKey.getSignature()));
        root.set("oneTimePreKeys", preKeysJson(oneTimePreKeys));
        return root.toString();
      } catch (Exception e) {
        throw new IllegalStateException(e);
      }
    }

    /** A protocol store holding all these keys, to run libsignal sessions as this device. */
    public InMemorySignalProtocolStore store() {
      InMemorySignalProtocolStore store = new InMemorySignalProtocolStore(identity, registrationId);
      store.storeSignedPreKey(signedPreKey.getId(), signedPreKey);
      store.storeKyberPreKey(kyberPreKey.getId(), kyberPreKey);
      oneTimePreKeys.forEach(k -> store.storePreKey(k.getId(), k));
      return store;
    }
  }

  /** A new device key set with {@code oneTimePreKeys} one-time prekeys, ids 1, 2, … */
  public static KeySet generate(int oneTimePreKeys) {
    IdentityKeyPair identity = IdentityKeyPair.generate();
    long now = System.currentTimeMillis();
    ECKeyPair signed = ECKeyPair.generate();
    SignedPreKeyRecord signedRecord = new SignedPreKeyRecord(1, now, signed,
        identity.getPrivateKey().calculateSignature(signed.getPublicKey().serialize()));
    KyberPreKeyRecord kyberRecord = kyber(identity, 1);
    return new KeySet(KeyHelper.generateRegistrationId(false), identity, signedRecord, kyberRecord,
        preKeys(1, oneTimePreKeys));
  }

  /** {@code count} new one-time prekeys with ids from {@code firstId}. */
  public static List<PreKeyRecord> preKeys(int firstId, int count) {
    List<PreKeyRecord> keys = new ArrayList<>(count);
    for (int i = 0; i < count; i++) {
      keys.add(new PreKeyRecord(firstId + i, ECKeyPair.generate()));
    }
    return List.copyOf(keys);
  }

  /** A signed Kyber-1024 prekey of {@code identity}. */
  public static KyberPreKeyRecord kyber(IdentityKeyPair identity, int keyId) {
    KEMKeyPair pair = KEMKeyPair.generate(KEMKeyType.KYBER_1024);
    return new KyberPreKeyRecord(keyId, System.currentTimeMillis(), pair,
        identity.getPrivateKey().calculateSignature(pair.getPublicKey().serialize()));
  }

  /** The one-time prekeys as the JSON array that {@code PUT} and {@code POST .../prekeys} carry. */
  public static ArrayNode preKeysJson(List<PreKeyRecord> keys) {
    ArrayNode array = JSON.createArrayNode();
    try {
      for (PreKeyRecord key : keys) {
        array.addObject().put("keyId", key.getId()).put("publicKey", base64(key.getKeyPair().getPublicKey().serialize()));
      }
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
    return array;
  }

  private static ObjectNode signed(int keyId, byte[] publicKey, byte[] signature) {
    return JSON.createObjectNode().put("keyId", keyId).put("publicKey", base64(publicKey))
        .put("signature", base64(signature));
  }

  // ---- registering over HTTP ----

  /** Registers {@code device} of the token's account with a new key set of 100 one-time prekeys. */
  public static KeySet register(ParleyNode node, String token, int device) {
    return register(node.httpAddress().getPort(), token, device, DEFAULT_PREKEYS);
  }

  public static KeySet register(int port, String token, int device, int oneTimePreKeys) {
    KeySet keys = generate(oneTimePreKeys);
    String body = keys.putBody();
    // a PUT is safe to repeat
    HttpResponse<String> response = whileUnavailable(() -> put(port, token, device, body));
    if (response.statusCode() != 200) {
      throw new IllegalStateException("registering device " + device + ": HTTP " + response.statusCode() + " "
          + response.body());
    }
    return keys;
  }

  /**
   * Sends {@code request} again while the node answers 503, for up to {@link Chat#RETRY_WITHIN}, as a
   * client does: a node that has just started may not answer in time.
   */
  static HttpResponse<String> whileUnavailable(Supplier<HttpResponse<String>> request) {
    long deadline = System.nanoTime() + Chat.RETRY_WITHIN.toNanos();
    HttpResponse<String> response = request.get();
    while (response.statusCode() == 503 && System.nanoTime() < deadline) {
      response = request.get();
    }
    return response;
  }

  /** {@code GET /v1/keys/{accountId}}: claims a bundle of each of the account's devices. */
  public static List<PreKeyBundle> claimAll(int port, String token, String accountId) {
    return bundles(expectOk(get(port, token, "/v1/keys/" + accountId)));
  }

  /** {@code GET /v1/keys/{accountId}/{device}}: claims the bundle of one device. */
  public static PreKeyBundle claim(int port, String token, String accountId, int device) {
    return bundles(expectOk(get(port, token, "/v1/keys/" + accountId + "/" + device))).get(0);
  }

  /** A claim answer's bundles as libsignal objects, ready for {@code SessionBuilder.process}. */
  public static List<PreKeyBundle> bundles(String body) {
    try {
      List<PreKeyBundle> bundles = new ArrayList<>();
      for (JsonNode d : JSON.readTree(body).get("devices")) {
        JsonNode signed = d.get("signedPreKey");
        JsonNode kyber = d.get("kyberPreKey");
        JsonNode oneTime = d.get("oneTimePreKey");
        bundles.add(new PreKeyBundle(d.get("registrationId").intValue(), d.get("device").intValue(),
            oneTime == null ? PreKeyBundle.NULL_PRE_KEY_ID : oneTime.get("keyId").intValue(),
            oneTime == null ? null : new ECPublicKey(bytes(oneTime, "publicKey")),
            signed.get("keyId").intValue(), new ECPublicKey(bytes(signed, "publicKey")), bytes(signed, "signature"),
            new IdentityKey(bytes(d, "identityKey")),
            kyber.get("keyId").intValue(), new KEMPublicKey(bytes(kyber, "publicKey")), bytes(kyber, "signature")));
      }
      return bundles;
    } catch (Exception e) {
      throw new IllegalStateException("not a bundle answer: " + body, e);
    }
  }

  public static HttpResponse<String> put(int port, String token, int device, String body) {
    return send(port, token, "/v1/keys/devices/" + device, "PUT", body);
  }

  public static HttpResponse<String> get(int port, String token, String path) {
    return send(port, token, path, "GET", null);
  }

  public static HttpResponse<String> post(int port, String token, String path, String body) {
    return send(port, token, path, "POST", body);
  }

  public static HttpResponse<String> delete(int port, String token, String path) {
    return send(port, token, path, "DELETE", null);
  }

  /** One request with a JSON body (or none); {@code token} null sends no Authorization header. */
  public static HttpResponse<String> send(int port, String token, String path, String method, String body) {
    return send(port, token, path, method, body, "application/json");
  }

  /** One request whose body (if any) is of {@code contentType}; {@code token} null sends no Authorization header. */
  public static HttpResponse<String> send(int port, String token, String path, String method, String body,
      String contentType) {
    HttpRequest.Builder request = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path))
        .method(method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body));
    if (body != null) {
      request.header("Content-Type", contentType);
    }
    if (token != null) {
      request.header("Authorization", "Bearer " + token);
    }
    try {
      return HTTP.send(request.build(), HttpResponse.BodyHandlers.ofString());
    } catch (Exception e) {
      throw new IllegalStateException(method + " " + path, e);
    }
  }

  private static String expectOk(HttpResponse<String> response) {
    if (response.statusCode() != 200) {
      throw new IllegalStateException("HTTP " + response.statusCode() + " " + response.body());
    }
    return response.body();
  }

  private static byte[] bytes(JsonNode node, String field) {
    return BASE64_DECODER.decode(node.get(field).textValue());
  }

  static String base64(byte[] bytes) {
    return BASE64.encodeToString(bytes);
  }
}
