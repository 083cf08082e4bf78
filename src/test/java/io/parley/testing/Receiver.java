package io.parley.testing;

import io.parley.protocol.ClientFrame;
import io.parley.protocol.ServerFrame;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * Records, on a background thread, every event of one conversation that a receiving client gets,
 * across as many connections as it makes, and acknowledges each as a client does.
 */
public final class Receiver {
  /**
   * One delivered event: {@code text} is the stand-in body, null for a membership change (or a message
   * without a ciphertext for this device).
   */
  public record Delivered(long seq, String text, int connection) {}

  private static final Duration MAX_LISTEN = Duration.ofMinutes(3);

  private final String conversationId;
  private final List<Delivered> delivered = new CopyOnWriteArrayList<>();
  private volatile boolean stopping;
  private Thread thread;
  private int connections;

  public Receiver(String conversationId) {
    this.conversationId = conversationId;
  }

  /** Listens on {@code client} until its socket closes or {@link #stop} is called. */
  public void listen(WsClient client) {
    if (thread != null && thread.isAlive()) {
      throw new IllegalStateException("still listening on the previous connection");
    }
    int connection = ++connections;
    thread = new Thread(() -> run(client, connection), "receiver-" + connection);
    thread.setDaemon(true);
    thread.start();
  }

  /** Waits until the current connection's socket has closed and everything it got is recorded. */
  public void awaitClosed(Duration timeout) {
    join(timeout);
  }

  /** Stops listening on an open connection once everything that has arrived is recorded. */
  public void stop(Duration timeout) {
    stopping = true;
    join(timeout);
    stopping = false;
  }

  public List<Delivered> delivered() {
    return List.copyOf(delivered);
  }

  public long messages() {
    return delivered.stream().filter(d -> d.text() != null).count();
  }

  /** The highest seq received so far, 0 before anything. */
  public long lastSeq() {
    return delivered.isEmpty() ? 0 : delivered.get(delivered.size() - 1).seq();
  }

  private void run(WsClient client, int connection) {
    long deadline = System.nanoTime() + MAX_LISTEN.toNanos();
    while (System.nanoTime() < deadline) {
      ServerFrame frame = client.poll(Duration.ofMillis(100));
      if (frame == null) {
        if (client.isClosed() || stopping) {
          return;
        }
      } else if (frame instanceof ServerFrame.Message message && message.conversationId().equals(conversationId)) {
        delivered.add(new Delivered(message.seq(), message.envelope() == null ? null : Chat.text(message), connection));
        acknowledge(client, message.seq());
      } else if (frame instanceof ServerFrame.Member member && member.conversationId().equals(conversationId)) {
        delivered.add(new Delivered(member.seq(), null, connection));
        acknowledge(client, member.seq());
      }
    }
  }

  private void acknowledge(WsClient client, long seq) {
    try {
      client.send(new ClientFrame.DeliveryAck(conversationId, seq));
    } catch (RuntimeException connectionLost) {
      // the node went away; the cursor goes with the next hello
    }
  }

  private void join(Duration timeout) {
    try {
      thread.join(timeout.toMillis());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
    if (thread.isAlive()) {
      throw new AssertionError("receiver still listening after " + timeout);
    }
  }
}
