package io.parley.directory;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.parley.testing.DevAccounts;
import io.parley.testing.DevAccounts.Account;
import io.parley.testing.NodeExtension;
import io.parley.testing.TestKeys;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.signal.libsignal.protocol.SessionBuilder;
import org.signal.libsignal.protocol.SessionCipher;
import org.signal.libsignal.protocol.SignalProtocolAddress;
import org.signal.libsignal.protocol.message.CiphertextMessage;
import org.signal.libsignal.protocol.message.PreKeySignalMessage;
import org.signal.libsignal.protocol.state.PreKeyBundle;
import org.signal.libsignal.protocol.state.impl.InMemorySignalProtocolStore;

/** The key directory over real HTTP against a real node: publishing, reading and claiming keys. */
class KeyDirectoryHttpTest {
  @RegisterExtension
  static final NodeExtension parley = new NodeExtension(Map.of("parley.directory.claim-rate", 10_000));

  private static final ObjectMapper JSON = new ObjectMapper();
  private static final AtomicInteger USERS = new AtomicInteger();

  private static Account newAccount() {
    return DevAccounts.login(parley.port(), "keys-" + USERS.incrementAndGet());
  }

  private static JsonNode json(HttpResponse<String> response) throws Exception {
    return JSON.readTree(response.body());
  }

  @Test
  void publishedKeysAreReadBackAndClaimedOnePreKeyAtATime() throws Exception {
    int port = parley.port();
    Account bob = newAccount();
    Account alice = newAccount();
    TestKeys.KeySet keys = TestKeys.generate(3);

    HttpResponse<String> put = TestKeys.put(port, bob.token(), 2, keys.putBody());
    assertThat(put.statusCode()).isEqualTo(200);
    assertThat(json(put).get("device").intValue()).isEqualTo(2);
    assertThat(json(put).get("oneTimePreKeys").intValue()).isEqualTo(3);

    JsonNode status = json(TestKeys.get(port, bob.token(), "/v1/keys/devices/2"));
    assertThat(status.get("oneTimePreKeys").intValue()).isEqualTo(3);
    assertThat(status.get("low").booleanValue()).isTrue();

    JsonNode list = json(TestKeys.get(port, alice.token(), "/v1/keys/" + bob.accountId() + "/devices"));
    assertThat(list.get("accountId").textValue()).isEqualTo(bob.accountId());
    assertThat(list.get("devices").toString()).isEqualTo("[2]");

    HttpResponse<String> claimed = TestKeys.get(port, alice.token(), "/v1/keys/" + bob.accountId());
    assertThat(claimed.statusCode()).isEqualTo(200);
    JsonNode device = json(claimed).get("devices").get(0);
    assertThat(device.get("device").intValue()).isEqualTo(2);
    assertThat(device.get("registrationId").intValue()).isEqualTo(keys.registrationId());
    assertThat(device.get("identityKey").textValue())
        .isEqualTo(java.util.Base64.getEncoder().encodeToString(keys.identity().getPublicKey().serialize()));
    assertThat(device.get("oneTimePreKey").get("keyId").intValue()).isEqualTo(1);

    assertThat(TestKeys.claim(port, alice.token(), bob.accountId(), 2).getPreKeyId()).isEqualTo(2);
    assertThat(TestKeys.claimAll(port, alice.token(), bob.accountId()).get(0).getPreKeyId()).isEqualTo(3);
    PreKeyBundle lastResort = TestKeys.claimAll(port, alice.token(), bob.accountId()).get(0);
    assertThat(lastResort.getPreKeyId()).isEqualTo(PreKeyBundle.NULL_PRE_KEY_ID);
    assertThat(lastResort.getPreKey()).isNull();
    assertThat(lastResort.getKyberPreKeyId()).isEqualTo(keys.kyberPreKey().getId());
    assertThat(json(TestKeys.get(port, bob.token(), "/v1/keys/devices/2")).get("oneTimePreKeys").intValue())
        .isZero();
  }

  @Test
  void aClaimedBundleStartsARealSignalSession() throws Exception {
    int port = parley.port();
    Account alice = newAccount();
    Account bob = newAccount();
    TestKeys.KeySet bobKeys = TestKeys.register(parley.node(), bob.token(), 1);
    TestKeys.KeySet aliceKeys = TestKeys.register(parley.node(), alice.token(), 1);

    for (PreKeyBundle bundle : List.of(TestKeys.claim(port, alice.token(), bob.accountId(), 1))) {
      InMemorySignalProtocolStore aliceStore = aliceKeys.store();
      SignalProtocolAddress bobAddress = new SignalProtocolAddress(bob.accountId(), bundle.getDeviceId());
      new SessionBuilder(aliceStore, bobAddress).process(bundle);
      CiphertextMessage message = new SessionCipher(aliceStore, bobAddress)
          .encrypt("hello bob".getBytes(StandardCharsets.UTF_8));
      assertThat(message.getType()).isEqualTo(CiphertextMessage.PREKEY_TYPE);

      InMemorySignalProtocolStore bobStore = bobKeys.store();
      byte[] plain = new SessionCipher(bobStore, new SignalProtocolAddress(alice.accountId(), 1))
          .decrypt(new PreKeySignalMessage(message.serialize()));
      assertThat(new String(plain, StandardCharsets.UTF_8)).isEqualTo("hello bob");
    }
  }

  @Test
  void aPutReplacesEveryKeyOfTheDevice() throws Exception {
    int port = parley.port();
    Account bob = newAccount();
    TestKeys.register(port, bob.token(), 1, 5);
    TestKeys.KeySet reinstall = TestKeys.generate(2);

    assertThat(TestKeys.put(port, bob.token(), 1, reinstall.putBody()).statusCode()).isEqualTo(200);

    PreKeyBundle bundle = TestKeys.claim(port, bob.token(), bob.accountId(), 1);
    assertThat(bundle.getIdentityKey()).isEqualTo(reinstall.identity().getPublicKey());
    assertThat(bundle.getRegistrationId()).isEqualTo(reinstall.registrationId());
    assertThat(json(TestKeys.get(port, bob.token(), "/v1/keys/devices/1")).get("oneTimePreKeys").intValue())
        .isEqualTo(1);
    assertThat(json(TestKeys.get(port, bob.token(), "/v1/keys/" + bob.accountId() + "/devices"))
        .get("devices").toString()).isEqualTo("[1]");
  }
}
