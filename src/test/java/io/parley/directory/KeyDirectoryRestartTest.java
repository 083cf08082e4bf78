package io.parley.directory;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.mongodb.client.MongoClient;
import com.mongodb.client.MongoClients;
import com.mongodb.client.MongoDatabase;
import com.mongodb.client.model.Filters;
import io.parley.ParleyNode;
import io.parley.testing.DevAccounts;
import io.parley.testing.DevAccounts.Account;
import io.parley.testing.TestKeys;
import io.parley.testing.TestNode;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.signal.libsignal.protocol.state.PreKeyBundle;

/** Published keys and claims survive a node restart; the journal stays short behind snapshots. */
class KeyDirectoryRestartTest {
  private static final int SNAPSHOT_EVERY = 5;
  private static final Map<String, Object> OVERRIDES = Map.of("parley.directory.snapshot-every", SNAPSHOT_EVERY);
  private static final ObjectMapper JSON = new ObjectMapper();

  @TempDir Path dataDir;
  private ParleyNode node;

  @AfterEach
  void stop() {
    TestNode.stop(node);
  }

  @Test
  void keysAndClaimsAreRecoveredAfterARestart() throws Exception {
    node = TestNode.start(dataDir, OVERRIDES);
    int port = node.httpAddress().getPort();
    Account bob = DevAccounts.login(port, "bob-keys-restart");
    Account alice = DevAccounts.login(port, "alice-keys-restart");
    TestKeys.KeySet keys = TestKeys.register(port, bob.token(), 1, 30);
    TestKeys.register(port, bob.token(), 3, 1);
    // 22 events: snapshots at 5, 10, 15, 20; keeping two snapshots deletes the events up to 10
    for (int i = 1; i <= 20; i++) {
      assertThat(TestKeys.claim(port, alice.token(), bob.accountId(), 1).getPreKeyId()).isEqualTo(i);
    }
    String pid = KeyDirectory.persistenceId(bob.accountId()).id();
    Awaitility.await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> {
      assertThat(documents("pekko_persistence_snaps", pid)).as("snapshots").isPositive();
      assertThat(documents("pekko_persistence_journal", pid)).as("journal entries left behind snapshots")
          .isLessThanOrEqualTo(12);
    });
    TestNode.stop(node);

    node = TestNode.start(dataDir, OVERRIDES);
    port = node.httpAddress().getPort();
    int restarted = port;
    Awaitility.await().atMost(Duration.ofSeconds(30)).until(() ->
        TestKeys.get(restarted, bob.token(), "/v1/keys/devices/1").statusCode() == 200);
    assertThat(JSON.readTree(TestKeys.get(port, bob.token(), "/v1/keys/devices/1").body())
        .get("oneTimePreKeys").intValue()).isEqualTo(10);
    assertThat(JSON.readTree(TestKeys.get(port, alice.token(), "/v1/keys/" + bob.accountId() + "/devices").body())
        .get("devices").toString()).isEqualTo("[1,3]");
    PreKeyBundle next = TestKeys.claim(port, alice.token(), bob.accountId(), 1);
    assertThat(next.getPreKeyId()).isEqualTo(21);
    assertThat(next.getIdentityKey()).isEqualTo(keys.identity().getPublicKey());
    assertThat(node.deviceDirectory().devices(bob.accountId()).toCompletableFuture().get().devices())
        .containsExactly(1, 3);
  }

  private long documents(String collectionPrefix, String pid) {
    try (MongoClient client = MongoClients.create(node.mongoConnectionString())) {
      MongoDatabase database = client.getDatabase("parley");
      long count = 0;
      for (String collection : database.listCollectionNames()) {
        if (collection.startsWith(collectionPrefix)) {
          count += database.getCollection(collection).countDocuments(Filters.eq("pid", pid));
        }
      }
      return count;
    }
  }
}
