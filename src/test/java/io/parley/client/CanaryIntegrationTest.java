package io.parley.client;

import static org.assertj.core.api.Assertions.assertThat;

import com.mongodb.client.MongoClient;
import com.mongodb.client.MongoClients;
import com.mongodb.client.MongoDatabase;
import io.parley.testing.AgentsApi;
import io.parley.testing.NodeExtension;
import io.parley.testing.NodeProcess;
import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.stream.Stream;
import org.bson.Document;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * A canary text sent between real clients is nowhere in the node's MongoDB (every collection of every
 * database), nowhere in its Redis (every key and value), and nowhere in the clients' stores on disk.
 */
class CanaryIntegrationTest {
  private static final int REDIS_PORT = NodeProcess.freePort();

  @RegisterExtension
  static final NodeExtension parley = new NodeExtension(Map.of(
      "parley.directory.claim-rate", 10_000,
      "parley.redis.embedded.port", REDIS_PORT,
      // agents too: the gateway decrypts for the agent, so its vault, outbox and caches are scanned as well
      "parley.agents.enabled", true,
      "parley.agents.demo.start-with-node", true));

  @TempDir
  Path stores;

  @Test
  void theCanaryIsNotStoredInClearAnywhere() throws Exception {
    String canary = "canary-" + UUID.randomUUID();
    try (TestClients clients = new TestClients(parley.port(), stores)) {
      TestClients.Device alice = clients.start(clients.account("canary-alice"), 1);
      TestClients.Device bob = clients.start(clients.account("canary-bob"), 1);
      String c = "c-" + UUID.randomUUID();
      alice.client.createConversation(c, List.of(bob.id())).join();
      for (int i = 0; i < 5; i++) {
        alice.client.send(c, canary + " #" + i).join();
        bob.client.send(c, "re: " + canary + " #" + i).join();
      }
      bob.awaitTexts(c, 5);
      alice.awaitTexts(c, 5);
      assertThat(bob.texts(c)).allMatch(text -> text.contains(canary));

      // through the echo agent (which repeats it) and through the front door (which classifies it)
      String echo = agentAccount(alice, "echo");
      String assistant = agentAccount(alice, "assistant");
      String withEcho = "c-" + UUID.randomUUID();
      String withFrontDoor = "c-" + UUID.randomUUID();
      alice.client.createConversation(withEcho, List.of(echo)).join();
      alice.client.createConversation(withFrontDoor, List.of(assistant)).join();
      alice.client.send(withEcho, canary).join();
      alice.client.send(withFrontDoor, canary + " again").join();
      org.awaitility.Awaitility.await().atMost(TestClients.WAIT).untilAsserted(() -> {
        assertThat(alice.texts(withEcho)).as("from the echo agent (errors %s)", alice.errors)
            .anyMatch(text -> text.contains(canary));
        assertThat(alice.texts(withFrontDoor)).as("from the front door").anyMatch(text -> text.startsWith("["));
      });
    }

    List<String> needles = List.of(canary,
        Base64.getEncoder().encodeToString(canary.getBytes(StandardCharsets.UTF_8)),
        Base64.getEncoder().encodeToString(canary.substring(1).getBytes(StandardCharsets.UTF_8)).substring(0, 24));

    int documents = 0;
    try (MongoClient mongo = MongoClients.create(parley.node().mongoConnectionString())) {
      for (String dbName : mongo.listDatabaseNames()) {
        MongoDatabase db = mongo.getDatabase(dbName);
        for (String collection : db.listCollectionNames()) {
          for (Document document : db.getCollection(collection).find()) {
            documents++;
            String json = document.toJson();
            for (String needle : needles) {
              assertThat(json).as("%s.%s", dbName, collection).doesNotContain(needle);
            }
          }
        }
      }
    }
    assertThat(documents).as("the scan saw the stored messages").isGreaterThan(10);

    List<String> redis = redisDump();
    assertThat(redis).as("the scan saw Redis keys").isNotEmpty();
    for (String entry : redis) {
      for (String needle : needles) {
        assertThat(entry).doesNotContain(needle);
      }
    }

    try (Stream<Path> files = Files.walk(stores)) {
      for (Path file : files.filter(Files::isRegularFile).toList()) {
        String content = new String(Files.readAllBytes(file), StandardCharsets.ISO_8859_1);
        assertThat(content).as("client store file %s", stores.relativize(file)).doesNotContain(canary);
      }
    }
  }

  /** The agent's account from the users' agent list, which lists it once its device can be messaged. */
  private static String agentAccount(TestClients.Device user, String agentId) {
    return org.awaitility.Awaitility.await().atMost(TestClients.WAIT)
        .until(() -> AgentsApi.listed(parley.port(), user.account.token(), agentId), java.util.Optional::isPresent)
        .get();
  }

  /** Every key of the node's Redis with its value, read by type over plain RESP. */
  private static List<String> redisDump() throws IOException {
    List<String> entries = new ArrayList<>();
    try (Socket socket = new Socket(InetAddress.getLoopbackAddress(), REDIS_PORT)) {
      OutputStream out = socket.getOutputStream();
      InputStream in = new BufferedInputStream(socket.getInputStream());
      for (Object key : (List<?>) command(out, in, "KEYS", "*")) {
        String name = (String) key;
        String type = (String) command(out, in, "TYPE", name);
        Object value = switch (type) {
          case "string" -> command(out, in, "GET", name);
          case "hash" -> command(out, in, "HGETALL", name);
          case "list" -> command(out, in, "LRANGE", name, "0", "-1");
          case "set" -> command(out, in, "SMEMBERS", name);
          case "zset" -> command(out, in, "ZRANGE", name, "0", "-1", "WITHSCORES");
          case "stream" -> command(out, in, "XRANGE", name, "-", "+");
          default -> "(" + type + ")";
        };
        entries.add(name + " = " + value);
      }
    }
    return entries;
  }

  private static Object command(OutputStream out, InputStream in, String... args) throws IOException {
    StringBuilder request = new StringBuilder("*" + args.length + "\r\n");
    for (String arg : args) {
      request.append('$').append(arg.getBytes(StandardCharsets.UTF_8).length).append("\r\n").append(arg).append("\r\n");
    }
    out.write(request.toString().getBytes(StandardCharsets.UTF_8));
    out.flush();
    return reply(in);
  }

  private static Object reply(InputStream in) throws IOException {
    int kind = in.read();
    String line = line(in);
    switch (kind) {
      case '+', ':' -> {
        return line;
      }
      case '-' -> throw new IOException("redis: " + line);
      case '$' -> {
        int length = Integer.parseInt(line);
        if (length < 0) {
          return null;
        }
        byte[] bytes = in.readNBytes(length + 2);
        return new String(bytes, 0, length, StandardCharsets.ISO_8859_1);
      }
      case '*' -> {
        int count = Integer.parseInt(line);
        List<Object> items = new ArrayList<>();
        for (int i = 0; i < count; i++) {
          items.add(reply(in));
        }
        return items;
      }
      default -> throw new IOException("unexpected RESP type " + (char) kind);
    }
  }

  private static String line(InputStream in) throws IOException {
    StringBuilder line = new StringBuilder();
    int c;
    while ((c = in.read()) != '\r') {
      line.append((char) c);
    }
    in.read();
    return line.toString();
  }
}
