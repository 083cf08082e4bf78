package io.parley.store;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.typesafe.config.Config;
import io.parley.config.ParleySettings.EmbeddedStore;
import io.parley.config.ParleySettings.StoreSettings;
import java.nio.file.Path;
import org.bson.Document;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class MongoStoreTest {

  @TempDir Path dir;

  private StoreSettings embedded(int buckets) {
    return new StoreSettings("", "parley", buckets, new EmbeddedStore(dir, false, "127.0.0.1", 0, false));
  }

  @Test
  void startsTheEmbeddedServerWhenNoUriIsConfigured() {
    MongoStore store = MongoStore.start(embedded(64));
    try {
      int port = store.embeddedServer().orElseThrow().address().getPort();
      assertThat(store.connectionString()).isEqualTo("mongodb://127.0.0.1:" + port);
      assertThat(store.databaseName()).isEqualTo("parley");
      assertThat(store.database().getName()).isEqualTo("parley");
      assertThat(store.isHealthy()).isTrue();

      Config journal = store.journalConfig();
      assertThat(journal.getString("pekko.contrib.persistence.mongodb.mongo.mongouri"))
          .isEqualTo("mongodb://127.0.0.1:" + port + "/parley");
      assertThat(journal.getString("pekko.contrib.persistence.mongodb.mongo.database")).isEqualTo("parley");
      assertThat(journal.getString("pekko.contrib.persistence.mongodb.mongo.suffix-builder.class"))
          .isEqualTo(JournalBuckets.class.getName());
      assertThat(JournalBuckets.installedCount()).isEqualTo(64);
    } finally {
      store.close();
    }
    assertThat(store.isHealthy()).isFalse();
  }

  @Test
  void usesAConfiguredMongoDbAsItIs() {
    try (EmbeddedMongoServer mongo = EmbeddedMongoServer.start(new EmbeddedStore(dir, true, "127.0.0.1", 0, false))) {
      String uri = mongo.connectionString() + "/admin?appName=ops&connectTimeoutMS=3000";
      try (MongoStore store = MongoStore.start(new StoreSettings(uri, "chat", 1, embedded(1).embedded()))) {
        assertThat(store.embeddedServer()).isEmpty();
        assertThat(store.connectionString()).isEqualTo(uri);
        assertThat(store.databaseName()).isEqualTo("chat");
        assertThat(store.journalConfig().getString("pekko.contrib.persistence.mongodb.mongo.mongouri")).isEqualTo(uri);
        assertThat(store.journalConfig().getString("pekko.contrib.persistence.mongodb.mongo.database")).isEqualTo("chat");
        assertThat(store.journalConfig().getString("pekko.contrib.persistence.mongodb.mongo.suffix-builder.class")).isEmpty();

        store.database().getCollection("accounts").insertOne(new Document("_id", "a"));
        assertThat(store.isHealthy()).isTrue();
      }
      assertThat(DurableStore.logFile(dir)).doesNotExist();
    }
  }

  @Test
  void refusesToChangeTheBucketCountOfAnExistingJournal() {
    try (MongoStore store = MongoStore.start(embedded(64))) {
      assertThat(store.journalBuckets()).isEqualTo(64);
    }
    assertThatThrownBy(() -> MongoStore.start(embedded(32)))
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("written in 64 bucket(s) but parley.store.journal-buckets is 32");
    // the failed start released everything: the same data directory opens again
    try (MongoStore store = MongoStore.start(embedded(64))) {
      assertThat(store.isHealthy()).isTrue();
    }
  }

  @Test
  void isUnhealthyWhenTheDatabaseIsGone() {
    try (EmbeddedMongoServer mongo = EmbeddedMongoServer.start(new EmbeddedStore(dir, true, "127.0.0.1", 0, false));
        MongoStore store = MongoStore.start(new StoreSettings(mongo.connectionString(), "parley", 64, embedded(64).embedded()))) {
      assertThat(store.isHealthy()).isTrue();
      mongo.close();
      long started = System.nanoTime();
      assertThat(store.isHealthy()).isFalse();
      assertThat(System.nanoTime() - started).as("a readiness probe does not hang").isLessThan(10_000_000_000L);
    }
  }
}
