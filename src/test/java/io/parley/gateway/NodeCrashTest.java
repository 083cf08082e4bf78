package io.parley.gateway;

import static io.parley.testing.Chat.newConversationId;
import static io.parley.testing.Chat.send;
import static io.parley.testing.Chat.text;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.parley.config.ParleySettings.RedisSettings;
import io.parley.protocol.ClientFrame;
import io.parley.protocol.ServerFrame;
import io.parley.redis.RedisConnection;
import io.parley.testing.Chat;
import io.parley.testing.DevAccounts;
import io.parley.testing.DevAccounts.Account;
import io.parley.testing.NodeProcess;
import io.parley.testing.WsClient;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import java.util.stream.LongStream;
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

  private record Outgoing(String key, String text) {}

  private record Delivered(long seq, String text, int connection) {}

  @Test
  void everyAcknowledgedMessageIsDeliveredOnceInOrderAcrossAKillAndRestart() throws Exception {
    // fsync off: a process kill leaves the page cache intact, so what the store committed before its ack
    // survives either way; fsync only adds safety against a power cut, which no test here can cause
    boolean fsync = false;
    Path dataDir = dir.resolve("data");
    int httpPort = NodeProcess.freePort();
    Map<String, String> properties = NodeProcess.embeddedNode(dataDir, httpPort, NodeProcess.freePort(), redisUrl,
        fsync);
    NodeProcess first = startNode(properties, dir.resolve("node-1.log"));

    Account alice = DevAccounts.login(httpPort, "alice-crash");
    Account bob = DevAccounts.login(httpPort, "bob-crash");
    String conversationId = newConversationId();
    List<Delivered> delivered = new CopyOnWriteArrayList<>();

    WsClient bobBefore = track(Chat.resume(httpPort, bob, 1, Map.of()));
    Thread receiving = receive(bobBefore, conversationId, delivered, 1);
    WsClient aliceBefore = track(Chat.resume(httpPort, alice, 1, Map.of()));
    assertThat(Chat.create(aliceBefore, conversationId, List.of(bob.accountId())).seq()).isEqualTo(1);

    List<Outgoing> burst = IntStream.range(0, BURST)
        .mapToObj(i -> new Outgoing(Chat.newKey(), "burst " + i))
        .toList();
    Thread sending = new Thread(() -> {
      try {
        for (Outgoing out : burst) {
          aliceBefore.send(send(conversationId, out.key(), bob, out.text()));
        }
      } catch (RuntimeException connectionLost) {
        // the node died under the burst
      }
    }, "burst-sender");
    sending.start();

    Map<String, ServerFrame.Ack> acked = new ConcurrentHashMap<>();
    for (int i = 0; i < ACKS_READ_BEFORE_KILL; i++) {
      ServerFrame.Ack ack = aliceBefore.await(ServerFrame.Ack.class, a -> a.conversationId().equals(conversationId));
      assertThat(ack.duplicate()).isFalse();
      acked.put(ack.idempotencyKey(), ack);
    }
    await().atMost(CONVERGE).until(() -> messages(delivered) >= ACKS_READ_BEFORE_KILL + STORED_BUT_UNACKED);

    long killedAt = System.nanoTime();
    first.kill(EXIT);
    assertThat(first.exitValue()).as("killed by SIGKILL").isEqualTo(128 + 9);
    receiving.join(EXIT.toMillis());
    sending.join(EXIT.toMillis());
    assertThat(receiving.isAlive()).isFalse();
    assertThat(sending.isAlive()).isFalse();
    List<Delivered> beforeKill = List.copyOf(delivered);
    assertThat(messages(beforeKill)).as("the kill came while the burst was in flight").isLessThan(BURST);

    NodeProcess second = startNode(properties, dir.resolve("node-2.log"));
    long upAt = System.nanoTime();

    // the tokens were issued before the crash: the signing key lives in the data dir, and so does the
    // pepper that maps a handle to the same account
    assertThat(DevAccounts.login(httpPort, "bob-crash").accountId()).isEqualTo(bob.accountId());
    long receiverCursor = beforeKill.get(beforeKill.size() - 1).seq();
    WsClient bobAfter = track(Chat.resume(httpPort, bob, 1, Map.of(conversationId, receiverCursor)));
    receiving = receive(bobAfter, conversationId, delivered, 2);
    long senderCursor = acked.values().stream().mapToLong(ServerFrame.Ack::seq).max().orElseThrow();
    WsClient aliceAfter = track(Chat.resume(httpPort, alice, 1, Map.of(conversationId, senderCursor)));

    Map<String, Outgoing> unacked = new LinkedHashMap<>();
    burst.stream().filter(out -> !acked.containsKey(out.key())).forEach(out -> unacked.put(out.key(), out));
    Retried retry = retry(aliceAfter, conversationId, bob, unacked);
    Map<String, ServerFrame.Ack> retried = retry.acks();

    long lastSeq = 1 + BURST;
    await().atMost(CONVERGE).until(() -> !delivered.isEmpty() && delivered.get(delivered.size() - 1).seq() >= lastSeq);
    stopReceiving = true;
    receiving.join(EXIT.toMillis());

    // every seq from the start, once, in order, across both connections
    assertThat(delivered).extracting(Delivered::seq)
        .containsExactlyElementsOf(LongStream.rangeClosed(1, lastSeq).boxed().toList());
    Map<String, Long> seqOfText = delivered.stream().filter(d -> d.text() != null)
        .collect(Collectors.toMap(Delivered::text, Delivered::seq));
    assertThat(seqOfText).as("every message of the burst, each once").hasSize(BURST);

    // what was acknowledged before the kill is delivered with the acknowledged seq
    for (Outgoing out : burst) {
      ServerFrame.Ack ack = acked.containsKey(out.key()) ? acked.get(out.key()) : retried.get(out.key());
      assertThat(ack).as("an ack for %s", out.text()).isNotNull();
      assertThat(seqOfText.get(out.text())).as("the seq of %s", out.text()).isEqualTo(ack.seq());
    }

    // a retry of what had been stored before the kill is a duplicate carrying the original seq
    Map<String, Long> storedBeforeKill = beforeKill.stream().filter(d -> d.text() != null)
        .collect(Collectors.toMap(Delivered::text, Delivered::seq));
    List<Outgoing> storedButUnacked = unacked.values().stream()
        .filter(out -> storedBeforeKill.containsKey(out.text())).toList();
    assertThat(storedButUnacked).hasSizeGreaterThanOrEqualTo(STORED_BUT_UNACKED);
    for (Outgoing out : storedButUnacked) {
      ServerFrame.Ack ack = retried.get(out.key());
      assertThat(ack.duplicate()).as("retry of stored %s", out.text()).isTrue();
      assertThat(ack.seq()).isEqualTo(storedBeforeKill.get(out.text()));
    }
    long duplicates = retried.values().stream().filter(ServerFrame.Ack::duplicate).count();
    assertThat(duplicates).as("retries of sends the node never stored are stored now").isLessThan(unacked.size());
    Set<Integer> connections = delivered.stream().map(Delivered::connection).collect(Collectors.toSet());
    assertThat(connections).containsExactlyInAnyOrder(1, 2);

    System.out.printf("NodeCrashTest fsync=%s: %d acked before kill, %d delivered before kill, %d retried "
            + "(%d duplicates); restart %d ms; kill to first retry ack %d ms%n",
        fsync, acked.size(), messages(beforeKill), unacked.size(), duplicates,
        (upAt - killedAt) / 1_000_000, (retry.firstAckAt() - killedAt) / 1_000_000);
  }

  private volatile boolean stopReceiving;

  private record Retried(Map<String, ServerFrame.Ack> acks, long firstAckAt) {}

  /** Sends every unacknowledged message again with its key; answers retryable errors by sending again. */
  private static Retried retry(WsClient sender, String conversationId, Account to, Map<String, Outgoing> unacked) {
    for (Outgoing out : unacked.values()) {
      sender.send(send(conversationId, out.key(), to, out.text()));
    }
    Map<String, ServerFrame.Ack> acks = new HashMap<>();
    long firstAckAt = 0;
    long deadline = System.nanoTime() + CONVERGE.toNanos();
    while (acks.size() < unacked.size() && System.nanoTime() < deadline) {
      ServerFrame frame = sender.poll(Duration.ofNanos(deadline - System.nanoTime()));
      if (frame instanceof ServerFrame.Ack ack && unacked.containsKey(ack.idempotencyKey())) {
        if (acks.isEmpty()) {
          firstAckAt = System.nanoTime();
        }
        acks.putIfAbsent(ack.idempotencyKey(), ack);
      } else if (frame instanceof ServerFrame.Error error && error.retryable()
          && unacked.containsKey(error.idempotencyKey())) {
        Outgoing out = unacked.get(error.idempotencyKey());
        sender.send(send(conversationId, out.key(), to, out.text()));
      } else if (frame instanceof ServerFrame.Error error) {
        throw new AssertionError("unexpected error on retry: " + error);
      }
    }
    assertThat(acks).as("acks for every retried send").hasSameSizeAs(unacked);
    return new Retried(acks, firstAckAt);
  }

  /** Records what the receiver gets on one connection and acknowledges it, until the socket closes. */
  private Thread receive(WsClient client, String conversationId, List<Delivered> delivered, int connection) {
    Thread thread = new Thread(() -> {
      long deadline = System.nanoTime() + Duration.ofMinutes(3).toNanos();
      while (System.nanoTime() < deadline) {
        ServerFrame frame = client.poll(Duration.ofMillis(100));
        if (frame == null) {
          if (client.isClosed() || stopReceiving) {
            return;
          }
        } else if (frame instanceof ServerFrame.Message message && message.conversationId().equals(conversationId)) {
          delivered.add(new Delivered(message.seq(), text(message), connection));
          acknowledge(client, conversationId, message.seq());
        } else if (frame instanceof ServerFrame.Member member && member.conversationId().equals(conversationId)) {
          delivered.add(new Delivered(member.seq(), null, connection));
          acknowledge(client, conversationId, member.seq());
        }
      }
    }, "receiver-" + connection);
    thread.start();
    return thread;
  }

  private static void acknowledge(WsClient client, String conversationId, long seq) {
    try {
      client.send(new ClientFrame.DeliveryAck(conversationId, seq));
    } catch (RuntimeException connectionLost) {
      // the node died; the cursor is resent with the next hello
    }
  }

  private static long messages(List<Delivered> delivered) {
    return delivered.stream().filter(d -> d.text() != null).count();
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
