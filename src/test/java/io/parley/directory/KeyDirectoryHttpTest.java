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

  @Test
  void concurrentClaimsNeverHandOutTheSamePreKey() throws Exception {
    int port = parley.port();
    Account bob = newAccount();
    TestKeys.register(port, bob.token(), 1, 100);
    List<Account> claimers = java.util.stream.IntStream.range(0, 4).mapToObj(i -> newAccount()).toList();
    int threads = 20;
    int claimsEach = 6;
    java.util.concurrent.ExecutorService pool = java.util.concurrent.Executors.newFixedThreadPool(threads);
    java.util.concurrent.CountDownLatch start = new java.util.concurrent.CountDownLatch(1);
    List<java.util.concurrent.Future<List<Integer>>> results = new java.util.ArrayList<>();
    try {
      for (int t = 0; t < threads; t++) {
        Account claimer = claimers.get(t % claimers.size());
        results.add(pool.submit(() -> {
          start.await();
          List<Integer> ids = new java.util.ArrayList<>();
          for (int i = 0; i < claimsEach; i++) {
            ids.add(TestKeys.claim(port, claimer.token(), bob.accountId(), 1).getPreKeyId());
          }
          return ids;
        }));
      }
      start.countDown();
      List<Integer> all = new java.util.ArrayList<>();
      for (var result : results) {
        all.addAll(result.get(60, java.util.concurrent.TimeUnit.SECONDS));
      }
      List<Integer> handedOut = all.stream().filter(id -> id != PreKeyBundle.NULL_PRE_KEY_ID).toList();
      assertThat(handedOut).hasSize(100).doesNotHaveDuplicates();
      assertThat(new java.util.TreeSet<>(handedOut)).containsExactlyElementsOf(
          java.util.stream.IntStream.rangeClosed(1, 100).boxed().toList());
      assertThat(all).hasSize(threads * claimsEach)
          .filteredOn(id -> id == PreKeyBundle.NULL_PRE_KEY_ID).hasSize(threads * claimsEach - 100);
    } finally {
      pool.shutdownNow();
    }
    assertThat(json(TestKeys.get(port, bob.token(), "/v1/keys/devices/1")).get("oneTimePreKeys").intValue())
        .isZero();
    assertThat(TestKeys.claim(port, bob.token(), bob.accountId(), 1).getPreKey()).isNull();
  }

  @Test
  void addedPreKeysAreHandedOutAfterTheOlderOnesAndRotationReplacesTheSignedKeys() throws Exception {
    int port = parley.port();
    Account bob = newAccount();
    TestKeys.KeySet keys = TestKeys.register(port, bob.token(), 1, 1);
    var signed = org.signal.libsignal.protocol.ecc.ECKeyPair.generate();
    byte[] signature = keys.identity().getPrivateKey().calculateSignature(signed.getPublicKey().serialize());
    var kyber = TestKeys.kyber(keys.identity(), 2);
    var body = JSON.createObjectNode();
    body.set("oneTimePreKeys", TestKeys.preKeysJson(TestKeys.preKeys(50, 2)));
    body.putObject("signedPreKey").put("keyId", 2)
        .put("publicKey", b64(signed.getPublicKey().serialize())).put("signature", b64(signature));
    body.putObject("kyberPreKey").put("keyId", 2)
        .put("publicKey", b64(kyber.getKeyPair().getPublicKey().serialize())).put("signature", b64(kyber.getSignature()));

    HttpResponse<String> added = TestKeys.post(port, bob.token(), "/v1/keys/devices/1/prekeys", body.toString());
    assertThat(added.statusCode()).as(added.body()).isEqualTo(200);
    assertThat(json(added).get("oneTimePreKeys").intValue()).isEqualTo(3);
    // the same upload again changes nothing
    HttpResponse<String> again = TestKeys.post(port, bob.token(), "/v1/keys/devices/1/prekeys", body.toString());
    assertThat(json(again).get("oneTimePreKeys").intValue()).isEqualTo(3);

    List<Integer> order = new java.util.ArrayList<>();
    for (int i = 0; i < 3; i++) {
      PreKeyBundle bundle = TestKeys.claim(port, bob.token(), bob.accountId(), 1);
      order.add(bundle.getPreKeyId());
      assertThat(bundle.getSignedPreKeyId()).isEqualTo(2);
      assertThat(bundle.getSignedPreKey()).isEqualTo(signed.getPublicKey());
      assertThat(bundle.getKyberPreKeyId()).isEqualTo(2);
    }
    assertThat(order).containsExactly(1, 50, 51);
  }

  @Test
  void claimingAllDevicesGivesOneBundlePerDevice() {
    int port = parley.port();
    Account bob = newAccount();
    Account alice = newAccount();
    TestKeys.register(port, bob.token(), 3, 2);
    TestKeys.register(port, bob.token(), 1, 2);

    List<PreKeyBundle> bundles = TestKeys.claimAll(port, alice.token(), bob.accountId());

    assertThat(bundles).extracting(PreKeyBundle::getDeviceId).containsExactly(1, 3);
    assertThat(bundles).extracting(PreKeyBundle::getPreKeyId).containsExactly(1, 1);
  }

  @Test
  void theNodeCacheFollowsEveryChangeOfADeviceList() throws Exception {
    int port = parley.port();
    Account bob = newAccount();
    DeviceDirectory directory = parley.node().deviceDirectory();
    DeviceDirectory.DeviceList empty = directory.cachedDevices(bob.accountId()).toCompletableFuture().get();
    assertThat(empty.devices()).isEmpty();

    TestKeys.register(port, bob.token(), 1, 1);
    TestKeys.register(port, bob.token(), 2, 1);
    org.awaitility.Awaitility.await().atMost(java.time.Duration.ofSeconds(10)).untilAsserted(() ->
        assertThat(directory.cachedDevices(bob.accountId()).toCompletableFuture().get().devices())
            .containsExactly(1, 2));
    long version = directory.cachedDevices(bob.accountId()).toCompletableFuture().get().version();

    assertThat(TestKeys.delete(port, bob.token(), "/v1/keys/devices/1").statusCode()).isEqualTo(204);
    org.awaitility.Awaitility.await().atMost(java.time.Duration.ofSeconds(10)).untilAsserted(() ->
        assertThat(directory.cachedDevices(bob.accountId()).toCompletableFuture().get().devices())
            .containsExactly(2));
    DeviceDirectory.DeviceList authoritative = directory.devices(bob.accountId()).toCompletableFuture().get();
    assertThat(authoritative.devices()).containsExactly(2);
    assertThat(authoritative.version()).isGreaterThan(version);
  }

  private static String b64(byte[] bytes) {
    return java.util.Base64.getEncoder().encodeToString(bytes);
  }
}
