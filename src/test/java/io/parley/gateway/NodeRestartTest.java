package io.parley.gateway;

import static io.parley.testing.Chat.newConversationId;
import static io.parley.testing.Chat.newKey;
import static io.parley.testing.Chat.resume;
import static io.parley.testing.Chat.send;
import static io.parley.testing.Chat.sendUntilAcked;
import static io.parley.testing.Chat.text;
import static org.assertj.core.api.Assertions.assertThat;

import com.mongodb.client.MongoClient;
import com.mongodb.client.MongoClients;
import com.mongodb.client.MongoDatabase;
import com.mongodb.client.model.Filters;
import io.parley.ParleyNode;
import io.parley.conversation.Conversation;
import io.parley.protocol.ServerFrame;
import io.parley.testing.Chat;
import io.parley.testing.DevAccounts;
import io.parley.testing.DevAccounts.Account;
import io.parley.testing.TestNode;
import io.parley.testing.WsClient;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A conversation longer than the snapshot interval is recovered by a restarted node on the same data dir. */
class NodeRestartTest {
  private static final int SNAPSHOT_EVERY = 10;
  private static final int MESSAGES = 35;
  private static final Map<String, Object> OVERRIDES = Map.of("parley.conversation.snapshot-every", SNAPSHOT_EVERY);

  @TempDir Path dataDir;
  private ParleyNode node;
  private final List<WsClient> clients = new ArrayList<>();

  @AfterEach
  void cleanUp() {
    clients.forEach(WsClient::close);
    TestNode.stop(node);
  }

  @Test
  void seqContinuesWithoutAGapAndKeysFromBeforeTheRestartAreStillDuplicates() {
    node = TestNode.start(dataDir, OVERRIDES);
    int port = node.httpAddress().getPort();
    Account alice = DevAccounts.login(port, "alice-restart");
    Account bob = DevAccounts.login(port, "bob-restart");
    Chat.register(port, bob, 1); // bob has a device; it first connects after the restart
    String id = newConversationId();
    List<String> keys = new ArrayList<>();
    try (WsClient a = track(resume(port, alice, 1, Map.of()))) {
      assertThat(Chat.create(a, id, List.of(bob.accountId())).seq()).isEqualTo(1);
      for (int i = 1; i <= MESSAGES; i++) {
        String key = newKey();
        keys.add(key);
        assertThat(sendUntilAcked(a, send(id, key, bob, "before " + i)))
            .isEqualTo(new ServerFrame.Ack(id, key, 1 + i, false));
      }
    }
    assertThat(snapshotsOf(id)).as("snapshots taken of the conversation").isPositive();
    TestNode.stop(node);

    node = TestNode.start(dataDir, OVERRIDES);
    port = node.httpAddress().getPort();
    try (WsClient a = track(resume(port, alice, 1, Map.of()))) {
      // the first key is older than every snapshot, the last one newer than the latest
      for (int i : new int[] {0, SNAPSHOT_EVERY, MESSAGES - 1}) {
        String key = keys.get(i);
        assertThat(sendUntilAcked(a, send(id, key, bob, "before " + (i + 1))))
            .isEqualTo(new ServerFrame.Ack(id, key, 2 + i, true));
      }
      String key = newKey();
      assertThat(sendUntilAcked(a, send(id, key, bob, "after")))
          .isEqualTo(new ServerFrame.Ack(id, key, 2 + MESSAGES, false));
    }

    // bob, connecting for the first time, gets the whole conversation from seq 1 in order
    try (WsClient b = track(resume(port, bob, 1, Map.of()))) {
      assertThat(b.next(ServerFrame.Member.class).seq()).isEqualTo(1);
      for (int i = 1; i <= MESSAGES; i++) {
        ServerFrame.Message message = b.next(ServerFrame.Message.class);
        assertThat(message.seq()).isEqualTo(1 + i);
        assertThat(text(message)).isEqualTo("before " + i);
      }
      ServerFrame.Message last = b.next(ServerFrame.Message.class);
      assertThat(last.seq()).isEqualTo(2 + MESSAGES);
      assertThat(text(last)).isEqualTo("after");
      assertThat(b.poll(Duration.ofMillis(300))).as("no duplicate was stored").isNull();
    }
  }

  @Test
  void cursorsAcknowledgedJustBeforeAStopAreSavedWhenTheSessionStops() {
    // no periodic flush runs here: only the stop (the session's save, the inbox's flush) can save the cursor
    Map<String, Object> noPeriodicFlush = Map.of("parley.session.cursor-flush-interval", "1h",
        "parley.session.inbox-flush-interval", "1h");
    node = TestNode.start(dataDir, noPeriodicFlush);
    int port = node.httpAddress().getPort();
    Account alice = DevAccounts.login(port, "alice-cursor-stop");
    Account bob = DevAccounts.login(port, "bob-cursor-stop");
    String id = newConversationId();
    try (WsClient a = track(resume(port, alice, 1, Map.of()));
         WsClient b = track(resume(port, bob, 1, Map.of()))) {
      Chat.create(a, id, List.of(bob.accountId()));
      sendUntilAcked(a, send(id, newKey(), bob, "read before the stop"));
      b.next(ServerFrame.Member.class);
      long seq = b.next(ServerFrame.Message.class).seq();
      b.send(new io.parley.protocol.ClientFrame.DeliveryAck(id, seq));
      b.send(new io.parley.protocol.ClientFrame.Ping("acked"));
      b.await(ServerFrame.Pong.class, pong -> true);
      TestNode.stop(node); // with bob still connected
    }

    node = TestNode.start(dataDir, noPeriodicFlush);
    port = node.httpAddress().getPort();
    try (WsClient a = track(resume(port, alice, 1, Map.of()))) {
      sendUntilAcked(a, send(id, newKey(), bob, "after the restart"));
    }
    try (WsClient b = track(resume(port, bob, 1, Map.of()))) {
      ServerFrame.Message first = b.next(ServerFrame.Message.class);
      assertThat(text(first)).as("what was acknowledged before the stop is not delivered again")
          .isEqualTo("after the restart");
      assertThat(b.poll(Duration.ofMillis(300))).isNull();
    }
  }

  private long snapshotsOf(String conversationId) {
    String pid = Conversation.persistenceId(conversationId).id();
    try (MongoClient client = MongoClients.create(node.mongoConnectionString())) {
      MongoDatabase database = client.getDatabase("parley");
      long count = 0;
      for (String collection : database.listCollectionNames()) {
        if (collection.startsWith("pekko_persistence_snaps")) {
          count += database.getCollection(collection).countDocuments(Filters.eq("pid", pid));
        }
      }
      return count;
    }
  }

  private WsClient track(WsClient client) {
    clients.add(client);
    return client;
  }
}
