package io.parley.store;

import static org.assertj.core.api.Assertions.assertThat;

import com.mongodb.client.MongoClient;
import com.mongodb.client.MongoClients;
import io.parley.config.ParleySettings.EmbeddedStore;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.bson.Document;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A child process writes through the embedded store from several threads and is killed with
 * SIGKILL while writes are in flight; every insert it saw acknowledged must be there afterwards.
 * The child runs with fsync off: a killed process leaves the operating system's cache intact, so
 * the test checks what fsync does not cover, acknowledgement after commit.
 */
class EmbeddedMongoServerDurabilityTest {

  private static final int WRITERS = 8;
  private static final int ACKS_BEFORE_KILL = 1_000;

  @TempDir Path dir;

  @Test
  void everyAcknowledgedInsertSurvivesAKill() throws Exception {
    Path dataDir = dir.resolve("data");
    Path childErrors = dir.resolve("child-stderr.txt");
    Process child = new ProcessBuilder(
            Path.of(System.getProperty("java.home"), "bin", "java").toString(),
            "-Xmx256m",
            "-cp", System.getProperty("java.class.path"),
            DurabilityWriter.class.getName(),
            dataDir.toString(), Integer.toString(WRITERS), "false")
        .redirectError(childErrors.toFile())
        .start();
    Set<String> acknowledged = ConcurrentHashMap.newKeySet();
    CountDownLatch enoughAcks = new CountDownLatch(ACKS_BEFORE_KILL);
    Thread reader = new Thread(() -> readAcks(child, acknowledged, enoughAcks), "child-stdout");
    reader.start();
    try {
      assertThat(enoughAcks.await(120, TimeUnit.SECONDS))
          .as("child acknowledged %d inserts in time; its stderr:%n%s", ACKS_BEFORE_KILL, readQuietly(childErrors))
          .isTrue();
    } finally {
      child.destroyForcibly();
      assertThat(child.waitFor(30, TimeUnit.SECONDS)).isTrue();
      reader.join(TimeUnit.SECONDS.toMillis(30));
    }
    assertThat(child.exitValue()).as("killed by SIGKILL").isEqualTo(128 + 9);
    assertThat(reader.isAlive()).isFalse();

    Set<String> stored = new HashSet<>();
    try (EmbeddedMongoServer server = EmbeddedMongoServer.start(new EmbeddedStore(dataDir, false, "127.0.0.1", 0, false));
        MongoClient client = MongoClients.create(server.connectionString())) {
      for (Document document : client.getDatabase(DurabilityWriter.DATABASE).getCollection(DurabilityWriter.COLLECTION).find()) {
        stored.add(document.getString("_id"));
      }
    }
    assertThat(acknowledged).hasSizeGreaterThanOrEqualTo(ACKS_BEFORE_KILL);
    Set<String> lost = new HashSet<>(acknowledged);
    lost.removeAll(stored);
    assertThat(lost).as("acknowledged inserts lost by the kill (of %d acknowledged)", acknowledged.size()).isEmpty();
  }

  private static void readAcks(Process child, Set<String> acknowledged, CountDownLatch enoughAcks) {
    try (BufferedReader lines = new BufferedReader(new InputStreamReader(child.getInputStream(), StandardCharsets.UTF_8))) {
      String line;
      while ((line = lines.readLine()) != null) {
        if (line.startsWith(DurabilityWriter.ACK)) {
          acknowledged.add(line.substring(DurabilityWriter.ACK.length()));
          enoughAcks.countDown();
        }
      }
    } catch (IOException e) {
      // the stream ends with the killed process
    }
  }

  private static String readQuietly(Path file) {
    try {
      return Files.readString(file);
    } catch (IOException e) {
      return "(unreadable: " + e + ")";
    }
  }
}
