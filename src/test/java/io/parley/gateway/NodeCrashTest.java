package io.parley.gateway;

import static io.parley.testing.Chat.newConversationId;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.parley.config.ParleySettings.RedisSettings;
import io.parley.protocol.ServerFrame;
import io.parley.redis.RedisConnection;
import io.parley.testing.Burst;
import io.parley.testing.Chat;
import io.parley.testing.DevAccounts;
import io.parley.testing.DevAccounts.Account;
import io.parley.testing.NodeProcess;
import io.parley.testing.Receiver;
import io.parley.testing.WsClient;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A node in a child process is killed with SIGKILL while a sender's burst is in flight and restarted on
 * the same data dir. The sender retries everything it has no ack for with the same idempotency key, the
 * receiver resumes from its cursor: every message is stored once, delivered once, in gap-free seq order.
 *
 * <p>Acks the sender had not read when the node died count as lost, as they are when the kernel drops
 * a dead server's unsent socket buffer: the test stops reading acks early and kills the node only after
 * the receiver has seen messages beyond them, so some retries always hit messages that were stored.
 */
class NodeCrashTest {
  private static final int BURST = 1_000;
  private static final int ACKS_READ_BEFORE_KILL = 100;
  private static final int STORED_BUT_UNACKED = 20;
  private static final Duration START = Duration.ofSeconds(120);
  private static final Duration EXIT = Duration.ofSeconds(30);
  private static final Duration CONVERGE = Duration.ofSeconds(90);

  private static RedisConnection redis;
  private static String redisUrl;

  @TempDir Path dir;
  private final List<NodeProcess> nodes = new ArrayList<>();
  private final List<WsClient> clients = new ArrayList<>();

  @BeforeAll
  static void startRedis() {
    // Redis lives in the test JVM: a bundled one inside the node would outlive the SIGKILL as an orphan
    int port = NodeProcess.freePort();
    redis = RedisConnection.start(new RedisSettings("", port));
    redisUrl = "redis://127.0.0.1:" + port;
  }

  @AfterAll
  static void stopRedis() {
    if (redis != null) {
      redis.close();
    }
  }

  @AfterEach
  void cleanUp() {
    clients.forEach(WsClient::close);
    nodes.forEach(NodeProcess::close);
  }

  @Test
  void everyAcknowledgedMessageIsDeliveredOnceInOrderAcrossAKillAndRestart() {
    // fsync off: a process kill leaves the page cache intact, so what the store committed before its ack
    // survives either way; fsync only adds safety against a power cut, which no test here can cause
    Path dataDir = dir.resolve("data");
    int httpPort = NodeProcess.freePort();
    Map<String, String> properties = NodeProcess.embeddedNode(dataDir, httpPort, NodeProcess.freePort(), redisUrl,
        false);
    NodeProcess first = startNode(properties, dir.resolve("node-1.log"));

    Account alice = DevAccounts.login(httpPort, "alice-crash");
    Account bob = DevAccounts.login(httpPort, "bob-crash");
    String conversationId = newConversationId();
    Receiver receiver = new Receiver(conversationId);
    receiver.listen(track(Chat.resume(httpPort, bob, 1, Map.of())));
    WsClient aliceBefore = track(Chat.resume(httpPort, alice, 1, Map.of()));
    assertThat(Chat.create(aliceBefore, conversationId, List.of(bob.accountId())).seq()).isEqualTo(1);

    Burst burst = new Burst(conversationId, bob, BURST);
    Thread sending = burst.send(aliceBefore);
    burst.readAcks(aliceBefore, ACKS_READ_BEFORE_KILL);
    assertThat(burst.acked().values()).noneMatch(ServerFrame.Ack::duplicate);
    await().atMost(CONVERGE).until(() -> receiver.messages() >= ACKS_READ_BEFORE_KILL + STORED_BUT_UNACKED);

    long killedAt = System.nanoTime();
    first.kill(EXIT);
    assertThat(first.exitValue()).as("killed by SIGKILL").isEqualTo(128 + 9);
    receiver.awaitClosed(EXIT);
    join(sending);
    List<Receiver.Delivered> beforeKill = receiver.delivered();
    assertThat(receiver.messages()).as("the kill came while the burst was in flight").isLessThan(BURST);
    Map<String, Burst.Outgoing> unacked = burst.unacked();

    NodeProcess second = startNode(properties, dir.resolve("node-2.log"));
    long upAt = System.nanoTime();

    // the tokens were issued before the crash: the signing key lives in the data dir, and so does the
    // pepper that maps a handle to the same account
    assertThat(DevAccounts.login(httpPort, "bob-crash").accountId()).isEqualTo(bob.accountId());
    receiver.listen(track(Chat.resume(httpPort, bob, 1, Map.of(conversationId, receiver.lastSeq()))));
    long senderCursor = burst.acked().values().stream().mapToLong(ServerFrame.Ack::seq).max().orElseThrow();
    WsClient aliceAfter = track(Chat.resume(httpPort, alice, 1, Map.of(conversationId, senderCursor)));
    Burst.Retried retried = burst.retryUnacked(aliceAfter);

    long lastSeq = 1 + BURST;
    await().atMost(CONVERGE).until(() -> receiver.lastSeq() >= lastSeq);
    receiver.stop(EXIT);

    burst.assertDeliveredOnceInOrder(receiver.delivered(), lastSeq);
    assertThat(receiver.delivered()).extracting(Receiver.Delivered::connection).contains(1, 2);

    // a retry of what had been stored before the kill is a duplicate carrying the original seq
    Map<String, Long> storedBeforeKill = Burst.seqOfText(beforeKill);
    List<Burst.Outgoing> storedButUnacked = unacked.values().stream()
        .filter(out -> storedBeforeKill.containsKey(out.text()))
        .collect(Collectors.toList());
    assertThat(storedButUnacked).hasSizeGreaterThanOrEqualTo(STORED_BUT_UNACKED);
    for (Burst.Outgoing out : storedButUnacked) {
      ServerFrame.Ack ack = retried.acks().get(out.key());
      assertThat(ack.duplicate()).as("retry of stored %s", out.text()).isTrue();
      assertThat(ack.seq()).isEqualTo(storedBeforeKill.get(out.text()));
    }
    assertThat(retried.duplicates()).as("retries of sends the node never stored are stored now")
        .isLessThan(unacked.size());

    // the production stop: SIGTERM runs coordinated shutdown, so connected clients are told to reconnect
    second.terminate(EXIT);
    ServerFrame.Reconnect reconnect = aliceAfter.await(ServerFrame.Reconnect.class, r -> true);
    assertThat(reconnect.retryAfterMs()).isPositive();
    assertThat(aliceAfter.next(ServerFrame.Close.class).code()).isEqualTo(Connection.CLOSE_SERVICE_RESTART);
    assertThat(second.exitValue()).as("ended by SIGTERM after its shutdown hook").isEqualTo(128 + 15);

    System.out.printf("NodeCrashTest: %d acked before the kill, %d delivered before it, %d retried "
            + "(%d duplicates); restart %d ms; kill to first ack of a retry %d ms%n",
        ACKS_READ_BEFORE_KILL, Burst.seqOfText(beforeKill).size(), unacked.size(), retried.duplicates(),
        (upAt - killedAt) / 1_000_000, (retried.firstAckAt() - killedAt) / 1_000_000);
  }

  private static void join(Thread thread) {
    try {
      thread.join(EXIT.toMillis());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
    assertThat(thread.isAlive()).as("%s still running", thread.getName()).isFalse();
  }

  private NodeProcess startNode(Map<String, String> properties, Path log) {
    NodeProcess node = NodeProcess.start(properties, log);
    nodes.add(node);
    node.awaitUp(START);
    return node;
  }

  private WsClient track(WsClient client) {
    clients.add(client);
    return client;
  }
}
