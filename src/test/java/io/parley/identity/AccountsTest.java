package io.parley.identity;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.mongodb.client.MongoClient;
import com.mongodb.client.MongoClients;
import com.mongodb.client.MongoDatabase;
import de.bwaldvogel.mongo.MongoServer;
import de.bwaldvogel.mongo.backend.memory.MemoryBackend;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.Date;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.bson.Document;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.NullSource;
import org.junit.jupiter.params.provider.ValueSource;

class AccountsTest {

  private static final byte[] PEPPER = "0123456789abcdef0123456789abcdef".getBytes(StandardCharsets.UTF_8);
  private static final Instant NOW = Instant.parse("2030-01-01T12:00:00Z");
  private static final Clock CLOCK = Clock.fixed(NOW, ZoneOffset.UTC);

  private static MongoServer server;
  private static MongoClient client;
  private static int databases;

  private MongoDatabase db;
  private Accounts accounts;

  @BeforeAll
  static void startMongo() {
    server = new MongoServer(new MemoryBackend());
    server.bind("127.0.0.1", 0);
    client = MongoClients.create("mongodb://127.0.0.1:" + server.getLocalAddress().getPort());
  }

  @AfterAll
  static void stopMongo() {
    client.close();
    server.shutdownNow();
  }

  @BeforeEach
  void freshDatabase() {
    db = client.getDatabase("accounts_test_" + databases++);
    accounts = new Accounts(db, PEPPER, CLOCK);
  }

  @Test
  void givesAHandleOneStableAccountId() {
    String id = accounts.accountIdFor("alice");

    assertThat(Accounts.isAccountId(id)).isTrue();
    assertThat(accounts.accountIdFor("alice")).isEqualTo(id);
    assertThat(accounts.lookup("alice")).contains(id);
    assertThat(new Accounts(db, PEPPER, CLOCK).accountIdFor("alice")).isEqualTo(id);
    assertThat(accounts.accountIdFor("bob")).isNotEqualTo(id);
  }

  @Test
  void lookupDoesNotCreate() {
    assertThat(accounts.lookup("carol")).isEmpty();
    assertThat(db.getCollection(Accounts.COLLECTION).countDocuments()).isZero();
  }

  @Test
  void concurrentCallersForOneHandleGetOneAccount() throws Exception {
    int threads = 8;
    int rounds = 20;
    ExecutorService pool = Executors.newFixedThreadPool(threads);
    try {
      for (int round = 0; round < rounds; round++) {
        String handle = "racer" + round;
        CountDownLatch start = new CountDownLatch(1);
        List<Future<String>> results = new ArrayList<>();
        for (int t = 0; t < threads; t++) {
          results.add(pool.submit(() -> {
            start.await();
            return accounts.accountIdFor(handle);
          }));
        }
        start.countDown();
        Set<String> ids = new HashSet<>();
        for (Future<String> result : results) {
          ids.add(result.get(10, TimeUnit.SECONDS));
        }
        assertThat(ids).as("ids for %s", handle).hasSize(1);
        assertThat(accounts.lookup(handle)).contains(ids.iterator().next());
      }
    } finally {
      pool.shutdownNow();
    }
    assertThat(db.getCollection(Accounts.COLLECTION).countDocuments()).isEqualTo(rounds);
  }

  @Test
  void normalisesHandles() {
    String id = accounts.accountIdFor("alice.smith");

    assertThat(accounts.accountIdFor("  Alice.Smith\t")).isEqualTo(id);
    assertThat(accounts.accountIdFor("ALICE.SMITH")).isEqualTo(id);
    // full-width letters fold to ASCII under NFKC
    assertThat(accounts.accountIdFor("ＡＬＩＣＥ.ｓｍｉｔｈ")).isEqualTo(id);
    assertThat(Accounts.normalise("Ünïcødé_ok-1")).isEqualTo("ünïcødé_ok-1");
  }

  @ParameterizedTest
  @NullSource
  @ValueSource(strings = {"", "   ", "alice smith", "alice@example.org", "a/b", "emoji😀", "x\u0000"})
  void rejectsInvalidHandles(String handle) {
    assertThatThrownBy(() -> accounts.accountIdFor(handle)).isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> accounts.lookup(handle)).isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  void limitsHandlesTo64Characters() {
    assertThat(Accounts.isAccountId(accounts.accountIdFor("a".repeat(64)))).isTrue();
    assertThatThrownBy(() -> accounts.accountIdFor("a".repeat(65)))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageNotContaining("aaaa");
  }

  @Test
  void storesNoHandle() {
    String id = accounts.accountIdFor("Carol.Secret-99");

    List<Document> stored = db.getCollection(Accounts.COLLECTION).find().into(new ArrayList<>());

    assertThat(stored).hasSize(1);
    Document doc = stored.get(0);
    assertThat(doc.keySet()).containsExactlyInAnyOrder("_id", "accountId", "createdAt");
    assertThat(doc.getString("accountId")).isEqualTo(id);
    assertThat(doc.getDate("createdAt")).isEqualTo(Date.from(NOW));
    assertThat(doc.getString("_id")).matches("[A-Za-z0-9_-]{43}");
    assertThat(doc.toJson().toLowerCase()).doesNotContain("carol").doesNotContain("secret");
  }

  @Test
  void anotherPepperGivesAnotherKey() {
    accounts.accountIdFor("dave");
    byte[] otherPepper = "fedcba9876543210fedcba9876543210".getBytes(StandardCharsets.UTF_8);

    assertThat(new Accounts(db, otherPepper, CLOCK).lookup("dave")).isEmpty();
  }

  @Test
  void refusesAShortPepper() {
    assertThatThrownBy(() -> new Accounts(db, new byte[16], CLOCK)).isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  void recognisesAccountIds() {
    assertThat(Accounts.isAccountId("u_AAAAAAAAAAAAAAAAAAAAAA")).isTrue();
    assertThat(Accounts.isAccountId("u_AAAAAAAAAAAAAAAAAAAAA")).isFalse();
    assertThat(Accounts.isAccountId("alice")).isFalse();
    assertThat(Accounts.isAccountId("u_AAAAAAAAAAAAAAAAAAAA+/")).isFalse();
    assertThat(Accounts.isAccountId(null)).isFalse();
  }
}
