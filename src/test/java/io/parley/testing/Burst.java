package io.parley.testing;

import static org.assertj.core.api.Assertions.assertThat;

import io.parley.protocol.ServerFrame;
import io.parley.testing.DevAccounts.Account;
import java.time.Duration;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.stream.IntStream;
import java.util.stream.LongStream;

/**
 * A burst of messages from one sender, each with its own idempotency key and text, sent without waiting
 * for acks; remembers which were acknowledged and retries the rest with the same keys, as a client does
 * after losing its connection.
 */
public final class Burst {
  public record Outgoing(String key, String text) {}

  /** Acks of a retry round and when the first of them arrived ({@link System#nanoTime}). */
  public record Retried(Map<String, ServerFrame.Ack> acks, long firstAckAt) {
    public long duplicates() {
      return acks.values().stream().filter(ServerFrame.Ack::duplicate).count();
    }
  }

  private static final Duration RETRY_WITHIN = Duration.ofSeconds(90);

  private final String conversationId;
  private final Account to;
  private final List<Outgoing> messages;
  private final Map<String, ServerFrame.Ack> acked = new ConcurrentHashMap<>();
  private final Set<String> failed = ConcurrentHashMap.newKeySet();

  public Burst(String conversationId, Account to, int count) {
    this.conversationId = conversationId;
    this.to = to;
    this.messages = IntStream.range(0, count).mapToObj(i -> new Outgoing(Chat.newKey(), "burst " + i)).toList();
  }

  public List<Outgoing> messages() {
    return messages;
  }

  /** Sends every message on a background thread; the thread ends early when the connection fails. */
  public Thread send(WsClient sender) {
    Thread thread = new Thread(() -> {
      try {
        for (Outgoing out : messages) {
          sender.send(Chat.send(conversationId, out.key(), to, out.text()));
        }
      } catch (RuntimeException connectionLost) {
        // the node went away under the burst; what was not acknowledged is retried
      }
    }, "burst-sender");
    thread.setDaemon(true);
    thread.start();
    return thread;
  }

  /** Reads the sender's frames until {@code count} acks have been read; other frames are skipped. */
  public void readAcks(WsClient sender, int count) {
    for (int i = 0; i < count; i++) {
      record(sender.await(ServerFrame.Ack.class, ack -> ack.conversationId().equals(conversationId)));
    }
  }

  /** Reads the sender's frames up to the server's close frame, recording the acks and errors among them. */
  public ServerFrame.Close readAcksUntilClose(WsClient sender) {
    long deadline = System.nanoTime() + RETRY_WITHIN.toNanos();
    while (System.nanoTime() < deadline) {
      ServerFrame frame = sender.poll(Duration.ofNanos(deadline - System.nanoTime()));
      if (frame instanceof ServerFrame.Ack ack && ack.conversationId().equals(conversationId)) {
        record(ack);
      } else if (frame instanceof ServerFrame.Error error && error.idempotencyKey() != null) {
        failed.add(error.idempotencyKey());
      } else if (frame instanceof ServerFrame.Close close) {
        return close;
      }
    }
    throw new AssertionError("no close frame within " + RETRY_WITHIN);
  }

  public Map<String, ServerFrame.Ack> acked() {
    return Map.copyOf(acked);
  }

  /** Keys of sends answered with an error (such as a timeout) while the first connection lasted. */
  public Set<String> failed() {
    return Set.copyOf(failed);
  }

  public Map<String, Outgoing> unacked() {
    Map<String, Outgoing> unacked = new LinkedHashMap<>();
    messages.stream().filter(out -> !acked.containsKey(out.key())).forEach(out -> unacked.put(out.key(), out));
    return unacked;
  }

  /** Sends every unacknowledged message again with its key and waits for all acks, resending after retryable errors. */
  public Retried retryUnacked(WsClient sender) {
    Map<String, Outgoing> unacked = unacked();
    for (Outgoing out : unacked.values()) {
      sender.send(Chat.send(conversationId, out.key(), to, out.text()));
    }
    Map<String, ServerFrame.Ack> acks = new HashMap<>();
    long firstAckAt = 0;
    long deadline = System.nanoTime() + RETRY_WITHIN.toNanos();
    while (acks.size() < unacked.size() && System.nanoTime() < deadline) {
      ServerFrame frame = sender.poll(Duration.ofNanos(deadline - System.nanoTime()));
      if (frame instanceof ServerFrame.Ack ack && unacked.containsKey(ack.idempotencyKey())) {
        firstAckAt = acks.isEmpty() ? System.nanoTime() : firstAckAt;
        acks.putIfAbsent(ack.idempotencyKey(), ack);
      } else if (frame instanceof ServerFrame.Error error && unacked.containsKey(error.idempotencyKey())) {
        assertThat(error.retryable()).as("error on a retried send: %s", error).isTrue();
        Outgoing out = unacked.get(error.idempotencyKey());
        sender.send(Chat.send(conversationId, out.key(), to, out.text()));
      }
    }
    assertThat(acks).as("acks for every retried send").hasSameSizeAs(unacked);
    acks.values().forEach(this::record);
    return new Retried(acks, firstAckAt);
  }

  /**
   * The receiver got every seq from 1 to the last exactly once and in order, every message of the burst
   * exactly once, each at the seq its ack named.
   */
  public void assertDeliveredOnceInOrder(List<Receiver.Delivered> delivered, long lastSeq) {
    assertThat(delivered).extracting(Receiver.Delivered::seq)
        .as("seqs from the start, each once, in order")
        .containsExactlyElementsOf(LongStream.rangeClosed(1, lastSeq).boxed().toList());
    Map<String, Long> seqOfText = seqOfText(delivered);
    assertThat(seqOfText).as("every message of the burst, each once").hasSize(messages.size());
    for (Outgoing out : messages) {
      ServerFrame.Ack ack = acked.get(out.key());
      assertThat(ack).as("an ack for %s", out.text()).isNotNull();
      assertThat(seqOfText.get(out.text())).as("the seq of %s", out.text()).isEqualTo(ack.seq());
    }
  }

  /** The seq at which each text was delivered; a text delivered twice fails. */
  public static Map<String, Long> seqOfText(List<Receiver.Delivered> delivered) {
    Map<String, Long> seqs = new HashMap<>();
    for (Receiver.Delivered d : delivered) {
      if (d.text() != null) {
        Long earlier = seqs.put(d.text(), d.seq());
        assertThat(earlier).as("%s delivered at seq %s and again at %s", d.text(), earlier, d.seq()).isNull();
      }
    }
    return seqs;
  }

  private void record(ServerFrame.Ack ack) {
    ServerFrame.Ack earlier = acked.putIfAbsent(ack.idempotencyKey(), ack);
    if (earlier != null) {
      assertThat(ack.seq()).as("every ack of %s names the same seq", ack.idempotencyKey()).isEqualTo(earlier.seq());
    }
  }
}
