package io.parley.directory;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.parley.testing.DevAccounts;
import io.parley.testing.DevAccounts.Account;
import io.parley.testing.NodeExtension;
import io.parley.testing.TestKeys;
import java.net.http.HttpResponse;
import java.util.Base64;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** Every refusal of the key directory's REST routes, with its status and error code. */
class KeyDirectoryErrorsTest {
  @RegisterExtension
  static final NodeExtension parley = new NodeExtension(Map.of("parley.session.max-devices-per-user", 2));

  private static final ObjectMapper JSON = new ObjectMapper();
  private static final AtomicInteger USERS = new AtomicInteger();

  private static Account newAccount() {
    return DevAccounts.login(parley.port(), "keys-err-" + USERS.incrementAndGet());
  }

  private static void assertError(HttpResponse<String> response, int status, String code) throws Exception {
    assertThat(response.statusCode()).as(response.body()).isEqualTo(status);
    JsonNode body = JSON.readTree(response.body());
    assertThat(body.get("error").textValue()).isEqualTo(code);
    assertThat(body.get("message").textValue()).isNotBlank();
  }

  private static ObjectNode validBody() throws Exception {
    return (ObjectNode) JSON.readTree(TestKeys.generate(2).putBody());
  }

  private static HttpResponse<String> put(Account account, JsonNode body) {
    return TestKeys.put(parley.port(), account.token(), 1, body.toString());
  }

  @Test
  void aThirdDeviceOverTheLimitIsRefused() throws Exception {
    Account bob = newAccount();
    TestKeys.register(parley.port(), bob.token(), 1, 1);
    TestKeys.register(parley.port(), bob.token(), 2, 1);

    assertError(TestKeys.put(parley.port(), bob.token(), 3, TestKeys.generate(1).putBody()), 409,
        "too_many_devices");
    // replacing the keys of a device it has is no new device
    assertThat(TestKeys.put(parley.port(), bob.token(), 2, TestKeys.generate(1).putBody()).statusCode())
        .isEqualTo(200);
  }

  @Test
  void aSignatureByAnotherIdentityIsRefused() throws Exception {
    Account bob = newAccount();
    ObjectNode body = validBody();
    ObjectNode other = validBody();
    body.set("signedPreKey", other.get("signedPreKey"));
    assertError(put(bob, body), 400, "invalid_keys");

    body = validBody();
    body.set("kyberPreKey", other.get("kyberPreKey"));
    assertError(put(bob, body), 400, "invalid_keys");

    body = validBody();
    byte[] signature = Base64.getDecoder().decode(body.get("signedPreKey").get("signature").textValue());
    signature[10] ^= 1;
    ((ObjectNode) body.get("signedPreKey")).put("signature", Base64.getEncoder().encodeToString(signature));
    assertError(put(bob, body), 400, "invalid_keys");
    assertError(TestKeys.get(parley.port(), bob.token(), "/v1/keys/devices/1"), 404, "unknown_device");
  }

  @Test
  void malformedKeysAreRefused() throws Exception {
    Account bob = newAccount();
    ObjectNode body = validBody();
    byte[] identity = Base64.getDecoder().decode(body.get("identityKey").textValue());

    body.put("identityKey", Base64.getEncoder().encodeToString(java.util.Arrays.copyOf(identity, 32)));
    assertError(put(bob, body), 400, "invalid_keys");

    identity[0] = 0x06;
    body.put("identityKey", Base64.getEncoder().encodeToString(identity));
    assertError(put(bob, body), 400, "invalid_keys");

    body = validBody();
    body.put("identityKey", "not base64 at all!");
    assertError(put(bob, body), 400, "invalid_keys");

    body = validBody();
    ((ObjectNode) body.get("kyberPreKey")).put("publicKey", body.get("signedPreKey").get("publicKey").textValue());
    assertError(put(bob, body), 400, "invalid_keys");

    body = validBody();
    ((ObjectNode) body.get("oneTimePreKeys").get(1)).put("keyId", body.get("oneTimePreKeys").get(0).get("keyId").intValue());
    assertError(put(bob, body), 400, "invalid_keys");
  }

  @Test
  void malformedRequestsAreRefused() throws Exception {
    Account bob = newAccount();
    int port = parley.port();
    ObjectNode body = validBody();
    ((ObjectNode) body.get("signedPreKey")).put("keyId", 16_777_216);
    assertError(put(bob, body), 400, "invalid_request");

    body = validBody();
    ((ObjectNode) body.get("oneTimePreKeys").get(0)).put("keyId", 0);
    assertError(put(bob, body), 400, "invalid_request");

    body = validBody();
    body.put("registrationId", "4711");
    assertError(put(bob, body), 400, "invalid_request");

    body = validBody();
    body.remove("kyberPreKey");
    assertError(put(bob, body), 400, "invalid_request");

    body = validBody();
    body.set("oneTimePreKeys", TestKeys.preKeysJson(TestKeys.preKeys(1, 101)));
    assertError(put(bob, body), 400, "invalid_request");

    assertError(TestKeys.put(port, bob.token(), 1, "{\"registrationId\":1"), 400, "invalid_request");
    assertError(TestKeys.put(port, bob.token(), 1, validBody() + " {}"), 400, "invalid_request");
    assertError(TestKeys.put(port, bob.token(), 0, validBody().toString()), 400, "invalid_request");
    assertError(TestKeys.put(port, bob.token(), 128, validBody().toString()), 400, "invalid_request");
    assertError(TestKeys.get(port, bob.token(), "/v1/keys/alice"), 400, "invalid_request");
    assertError(TestKeys.put(port, bob.token(), 1, "x".repeat(70_000)), 413, "payload_too_large");
  }

  @Test
  void storedPreKeysAreCappedAtTwoHundred() throws Exception {
    Account bob = newAccount();
    int port = parley.port();
    TestKeys.register(port, bob.token(), 1, 100);
    String more = "{\"oneTimePreKeys\":" + TestKeys.preKeysJson(TestKeys.preKeys(101, 100)) + "}";
    assertThat(TestKeys.post(port, bob.token(), "/v1/keys/devices/1/prekeys", more).statusCode()).isEqualTo(200);

    String tooMany = "{\"oneTimePreKeys\":" + TestKeys.preKeysJson(TestKeys.preKeys(201, 1)) + "}";
    assertError(TestKeys.post(port, bob.token(), "/v1/keys/devices/1/prekeys", tooMany), 400, "invalid_request");
    String reused = "{\"oneTimePreKeys\":" + TestKeys.preKeysJson(TestKeys.preKeys(5, 1)) + "}";
    TestKeys.claim(port, bob.token(), bob.accountId(), 1);
    assertError(TestKeys.post(port, bob.token(), "/v1/keys/devices/1/prekeys", reused), 400, "invalid_keys");
    assertError(TestKeys.post(port, bob.token(), "/v1/keys/devices/2/prekeys", more), 404, "unknown_device");
  }

  @Test
  void unknownAccountsAndDevicesAreNotFound() throws Exception {
    Account alice = newAccount();
    Account bob = newAccount();
    int port = parley.port();
    assertError(TestKeys.get(port, alice.token(), "/v1/keys/" + bob.accountId()), 404, "unknown_account");
    assertError(TestKeys.get(port, alice.token(), "/v1/keys/" + bob.accountId() + "/devices"), 404,
        "unknown_account");
    TestKeys.register(port, bob.token(), 1, 1);
    assertError(TestKeys.get(port, alice.token(), "/v1/keys/" + bob.accountId() + "/2"), 404, "unknown_device");
    assertError(TestKeys.delete(port, bob.token(), "/v1/keys/devices/2"), 404, "unknown_device");
  }

  @Test
  void everyRouteNeedsAValidToken() throws Exception {
    Account bob = newAccount();
    int port = parley.port();
    String body = TestKeys.generate(1).putBody();
    assertError(TestKeys.put(port, null, 1, body), 401, "unauthenticated");
    assertError(TestKeys.put(port, "not-a-jwt", 1, body), 401, "token_invalid");
    String forged = bob.token().substring(0, bob.token().lastIndexOf('.') + 1) + "AAAA";
    assertError(TestKeys.get(port, forged, "/v1/keys/" + bob.accountId()), 401, "token_invalid");
    assertError(TestKeys.get(port, null, "/v1/keys/" + bob.accountId() + "/devices"), 401, "unauthenticated");
    assertError(TestKeys.delete(port, null, "/v1/keys/devices/1"), 401, "unauthenticated");
    HttpResponse<String> unauthenticated = TestKeys.get(port, null, "/v1/keys/devices/1");
    assertThat(unauthenticated.headers().firstValue("WWW-Authenticate")).hasValueSatisfying(v ->
        assertThat(v).startsWith("Bearer"));
  }
}
