package io.parley.client;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.mongodb.client.MongoClient;
import com.mongodb.client.MongoClients;
import com.mongodb.client.MongoCollection;
import com.mongodb.client.MongoDatabase;
import io.parley.agent.gateway.MongoVaultStorage;
import io.parley.testing.NodeExtension;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletionException;
import org.bson.Document;
import org.bson.types.Binary;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * A client whose device store lives in MongoDB (as an agent's does in the agent gateway) chats with a
 * client on a directory store through a real node, stops, and carries on from the same vault.
 */
class MongoVaultClientIntegrationTest {
  @RegisterExtension
  static final NodeExtension parley = new NodeExtension(Map.of("parley.directory.claim-rate", 10_000));

  @RegisterExtension
  final TestClients clients = TestClients.perTest(parley);
  private MongoClient mongo;
  private MongoDatabase db;

  @BeforeEach
  void setUp() {
    mongo = MongoClients.create(parley.node().mongoConnectionString());
    db = mongo.getDatabase("parley");
  }

  @AfterEach
  void tearDown() {
    clients.close(); // before the MongoClient its vault storage uses (extensions end after @AfterEach)
    mongo.close();
  }

  private TestClients.Device onMongo(TestClients.Device device, String vaultId) {
    return clients.open(device, builder -> builder.store(new MongoVaultStorage(db, vaultId), device.key));
  }

  @Test
  void aClientOnAMongoVaultChatsStopsAndResumesWithItsSessionsAndCursors() {
    String suffix = UUID.randomUUID().toString().substring(0, 8);
    String canary = "canary-" + UUID.randomUUID();
    var agentAccount = clients.account("agent-" + suffix);
    String vaultId = agentAccount.accountId() + ".1";
    TestClients.Device agent = new TestClients.Device(agentAccount, 1, clients.root().resolve("unused"),
        TestClients.randomKey());
    onMongo(agent, vaultId);
    TestClients.Device bob = clients.start(clients.account("bob-" + suffix), 1);
    String c = "c-" + UUID.randomUUID();
    bob.client.createConversation(c, List.of(agent.id())).join();

    bob.client.send(c, "hello agent " + canary).join();
    agent.awaitTexts(c, 1);
    agent.client.send(c, "hello bob " + canary).join();
    bob.awaitTexts(c, 1);
    agent.client.close();

    MongoCollection<Document> vaults = db.getCollection(MongoVaultStorage.COLLECTION);
    List<Document> entries = vaults.find(new Document("vault", vaultId)).into(new java.util.ArrayList<>());
    assertThat(entries).extracting(e -> e.getString("_id"))
        .contains(vaultId + "/identity", vaultId + "/cursors", vaultId + "/store.check")
        .anyMatch(id -> id.startsWith(vaultId + "/sessions/"));
    for (Document entry : vaults.find()) {
      String data = new String(entry.get("data", Binary.class).getData(), StandardCharsets.ISO_8859_1);
      assertThat(data).as("entry %s", entry.getString("_id")).doesNotContain(canary).doesNotContain("hello");
      assertThat(entry.toJson()).doesNotContain(canary);
    }
    assertThat(new MongoVaultStorage(db, vaultId).list()).isNotEmpty();

    onMongo(agent, vaultId);
    bob.client.send(c, "after the restart").join();
    agent.awaitTexts(c, 2);
    agent.client.send(c, "still me").join();
    bob.awaitTexts(c, 2);

    // the cursor came back with the vault: nothing is delivered twice; the sessions too: nothing fails to
    // decrypt, and bob sees the same identity (the device was not registered anew)
    assertThat(agent.texts(c)).containsExactly("hello agent " + canary, "after the restart");
    assertThat(bob.texts(c)).containsExactly("hello bob " + canary, "still me");
    assertThat(agent.errors).isEmpty();
    assertThat(bob.errors).isEmpty();
  }

  @Test
  void aMongoVaultOpenedWithAnotherKeyFailsAtStartAndIsLeftAsItWas() {
    var account = clients.account("agent-key-" + UUID.randomUUID().toString().substring(0, 8));
    String vaultId = account.accountId() + ".1";
    TestClients.Device agent = new TestClients.Device(account, 1, clients.root().resolve("unused"), TestClients.randomKey());
    onMongo(agent, vaultId);
    agent.client.close();
    List<String> before = new MongoVaultStorage(db, vaultId).list();

    ParleyClient wrongKey = clients.builder(agent)
        .store(new MongoVaultStorage(db, vaultId), TestClients.randomKey()).build();
    assertThatThrownBy(() -> wrongKey.start().join())
        .isInstanceOf(CompletionException.class)
        .hasCauseInstanceOf(ParleyClientException.StoreFailure.class)
        .hasMessageContaining("wrong store key");
    wrongKey.close();
    assertThat(new MongoVaultStorage(db, vaultId).list()).containsExactlyInAnyOrderElementsOf(before);
  }
}
