package io.parley.agent.gateway;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.mongodb.client.MongoClient;
import com.mongodb.client.MongoClients;
import com.mongodb.client.MongoDatabase;
import io.parley.config.ParleySettings.EmbeddedStore;
import io.parley.store.EmbeddedMongoServer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import org.bson.Document;
import org.bson.types.Binary;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The storage against the real MongoDB-wire server, in memory. */
class MongoVaultStorageTest {
  private static EmbeddedMongoServer server;
  private static MongoClient mongo;
  private static MongoDatabase db;

  @BeforeAll
  static void start(@TempDir Path dir) {
    server = EmbeddedMongoServer.start(new EmbeddedStore(dir, true, "127.0.0.1", 0, false));
    mongo = MongoClients.create(server.connectionString());
    db = mongo.getDatabase("vault-test");
  }

  @AfterAll
  static void stop() {
    mongo.close();
    server.close();
  }

  private static byte[] bytes(String text) {
    return text.getBytes(StandardCharsets.UTF_8);
  }

  @Test
  void writesReadsReplacesListsAndDeletesEntriesOfItsOwnVaultOnly() {
    try (MongoVaultStorage a = new MongoVaultStorage(db, "u_aaaaaaaaaaaaaaaaaaaaaa.1");
         MongoVaultStorage b = new MongoVaultStorage(db, "u_aaaaaaaaaaaaaaaaaaaaaa.2")) {
      assertThat(a.read("identity")).isEmpty();
      a.write("identity", bytes("one"));
      a.write("sessions/0f1e", bytes("session"));
      a.write("identity", bytes("two"));
      b.write("identity", bytes("other device"));

      assertThat(a.read("identity")).hasValueSatisfying(v -> assertThat(v).isEqualTo(bytes("two")));
      assertThat(a.read("sessions/0f1e")).hasValueSatisfying(v -> assertThat(v).isEqualTo(bytes("session")));
      assertThat(a.list()).containsExactlyInAnyOrder("identity", "sessions/0f1e");
      assertThat(b.list()).containsExactly("identity");
      assertThat(b.read("identity")).hasValueSatisfying(v -> assertThat(v).isEqualTo(bytes("other device")));

      a.delete("sessions/0f1e");
      a.delete("never-written");
      assertThat(a.read("sessions/0f1e")).isEmpty();
      assertThat(a.list()).containsExactly("identity");

      Document stored = db.getCollection(MongoVaultStorage.COLLECTION)
          .find(new Document("_id", "u_aaaaaaaaaaaaaaaaaaaaaa.1/identity")).first();
      assertThat(stored).isNotNull();
      assertThat(stored.getString("vault")).isEqualTo("u_aaaaaaaaaaaaaaaaaaaaaa.1");
      assertThat(stored.get("data", Binary.class).getData()).isEqualTo(bytes("two"));

      a.destroy();
      assertThat(a.list()).isEmpty();
      assertThat(b.list()).containsExactly("identity");
    }
  }

  @Test
  void aVaultIdCannotReachIntoAnotherVault() {
    assertThatThrownBy(() -> new MongoVaultStorage(db, "u_a/sessions"))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> new MongoVaultStorage(db, ""))
        .isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  void aClosedStorageRefusesToBeUsed() {
    MongoVaultStorage storage = new MongoVaultStorage(db, "closed-vault");
    storage.write("identity", bytes("x"));
    storage.close();
    assertThatThrownBy(() -> storage.read("identity")).isInstanceOf(IllegalStateException.class);
    assertThatThrownBy(() -> storage.write("identity", bytes("y"))).isInstanceOf(IllegalStateException.class);
  }
}
