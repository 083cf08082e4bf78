package io.parley.store;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.mongodb.client.MongoClient;
import com.mongodb.client.MongoClients;
import com.mongodb.client.MongoCollection;
import com.mongodb.client.model.Filters;
import com.mongodb.client.model.Updates;
import io.parley.config.ParleySettings.EmbeddedStore;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.stream.IntStream;
import org.bson.Document;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class EmbeddedMongoServerTest {

  @TempDir Path dir;

  private EmbeddedStore durable(boolean fsync) {
    return new EmbeddedStore(dir, false, "127.0.0.1", 0, fsync);
  }

  @Test
  void keepsInsertsUpdatesAndDeletesAcrossARestart() {
    try (EmbeddedMongoServer server = EmbeddedMongoServer.start(durable(true));
        MongoClient client = MongoClients.create(server.connectionString())) {
      MongoCollection<Document> accounts = client.getDatabase("parley").getCollection("accounts");
      accounts.insertMany(List.of(new Document("_id", "a").append("n", 1), new Document("_id", "b").append("n", 2)));
      accounts.updateOne(Filters.eq("_id", "a"), Updates.set("n", 10));
      accounts.deleteOne(Filters.eq("_id", "b"));
    }
    try (EmbeddedMongoServer server = EmbeddedMongoServer.start(durable(true));
        MongoClient client = MongoClients.create(server.connectionString())) {
      List<Document> accounts = client.getDatabase("parley").getCollection("accounts").find().into(new ArrayList<>());
      assertThat(accounts).containsExactly(new Document("_id", "a").append("n", 10));
    }
  }

  @Test
  void concurrentWritersAreAllAcknowledgedAndStored() throws Exception {
    int writers = 32;
    int perWriter = 50;
    try (EmbeddedMongoServer server = EmbeddedMongoServer.start(durable(false));
        MongoClient client = MongoClients.create(server.connectionString())) {
      MongoCollection<Document> events = client.getDatabase("parley").getCollection("events");
      ExecutorService pool = Executors.newFixedThreadPool(writers);
      try {
        List<Future<?>> done = new ArrayList<>();
        for (int w = 0; w < writers; w++) {
          int writer = w;
          done.add(pool.submit(() -> IntStream.range(0, perWriter)
              .forEach(i -> events.insertOne(new Document("_id", writer + "-" + i)))));
        }
        for (Future<?> f : done) {
          f.get(60, TimeUnit.SECONDS);
        }
      } finally {
        pool.shutdownNow();
      }
      assertThat(events.countDocuments()).isEqualTo((long) writers * perWriter);
    }
    try (EmbeddedMongoServer server = EmbeddedMongoServer.start(durable(false));
        MongoClient client = MongoClients.create(server.connectionString())) {
      assertThat(client.getDatabase("parley").getCollection("events").countDocuments()).isEqualTo((long) writers * perWriter);
    }
  }

  @Test
  void aSecondServerOnTheSameDataDirInThisProcessFails() {
    try (EmbeddedMongoServer first = EmbeddedMongoServer.start(durable(false))) {
      assertThatThrownBy(() -> EmbeddedMongoServer.start(durable(false)))
          .isInstanceOf(IllegalStateException.class)
          .hasMessageContaining("data directory " + dir.toAbsolutePath())
          .hasMessageContaining("is in use by another Parley node");
      assertThat(first.isHealthy()).isTrue();
    }
    try (EmbeddedMongoServer second = EmbeddedMongoServer.start(durable(false))) {
      assertThat(second.isHealthy()).isTrue();
    }
  }

  @Test
  void aSecondServerOnADataDirUsedByAnotherProcessFails() throws Exception {
    Process other = new ProcessBuilder(
            Path.of(System.getProperty("java.home"), "bin", "java").toString(),
            "-Xmx128m", "-cp", System.getProperty("java.class.path"),
            DurabilityWriter.class.getName(), dir.toString(), "0", "false")
        .redirectError(ProcessBuilder.Redirect.DISCARD)
        .start();
    try {
      BufferedReader out = new BufferedReader(new InputStreamReader(other.getInputStream(), StandardCharsets.UTF_8));
      String line;
      do {
        line = out.readLine();
      } while (line != null && !line.equals(DurabilityWriter.READY));
      assertThat(line).as("the other process started its store").isEqualTo(DurabilityWriter.READY);

      assertThatThrownBy(() -> EmbeddedMongoServer.start(durable(false)))
          .isInstanceOf(IllegalStateException.class)
          .hasMessageContaining("is in use by another Parley node (pid " + other.pid() + ")");
    } finally {
      other.destroyForcibly();
      other.waitFor(30, TimeUnit.SECONDS);
    }
    try (EmbeddedMongoServer afterTheOther = EmbeddedMongoServer.start(durable(false))) {
      assertThat(afterTheOther.isHealthy()).isTrue();
    }
  }

  @Test
  void inMemoryServerKeepsNothingAndWritesNoFiles() {
    EmbeddedStore inMemory = new EmbeddedStore(dir.resolve("unused"), true, "127.0.0.1", 0, true);
    try (EmbeddedMongoServer server = EmbeddedMongoServer.start(inMemory);
        MongoClient client = MongoClients.create(server.connectionString())) {
      assertThat(server.isInMemory()).isTrue();
      client.getDatabase("parley").getCollection("c").insertOne(new Document("_id", 1));
      assertThat(client.getDatabase("parley").getCollection("c").countDocuments()).isEqualTo(1);
    }
    try (EmbeddedMongoServer server = EmbeddedMongoServer.start(inMemory);
        MongoClient client = MongoClients.create(server.connectionString())) {
      assertThat(client.getDatabase("parley").getCollection("c").countDocuments()).isZero();
    }
    assertThat(dir.resolve("unused")).doesNotExist();
  }

  @Test
  void isUnhealthyOnceClosed() {
    EmbeddedMongoServer server = EmbeddedMongoServer.start(durable(false));
    assertThat(server.isHealthy()).isTrue();
    assertThat(server.connectionString()).isEqualTo("mongodb://127.0.0.1:" + server.address().getPort());
    server.close();
    assertThat(server.isHealthy()).isFalse();
  }
}
