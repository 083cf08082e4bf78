package io.parley.testing;

import static org.assertj.core.api.Assertions.assertThat;

import io.parley.protocol.ClientFrame;
import io.parley.protocol.FrameCodec;
import io.parley.protocol.ServerFrame;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.WebSocket;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;

/**
 * A raw protocol client over a real WebSocket, for tests. Receipts arrive whenever another member's device
 * acknowledges, interleaved with everything else, so they are kept apart: {@link #receipt} reads them, and
 * the other readers never see them. Pushed presence frames likewise go to {@link #presence}.
 */
public final class WsClient implements AutoCloseable {
  public static final Duration WAIT = Duration.ofSeconds(10);
  private static final FrameCodec CODEC = new FrameCodec();

  private final WebSocket socket;
  private final LinkedBlockingQueue<ServerFrame> frames = new LinkedBlockingQueue<>();
  private final LinkedBlockingQueue<ServerFrame.Receipt> receipts = new LinkedBlockingQueue<>();
  private final LinkedBlockingQueue<ServerFrame.Presence> presence = new LinkedBlockingQueue<>();
  private final LinkedBlockingQueue<ByteBuffer> pongs = new LinkedBlockingQueue<>();
  private final CompletableFuture<Integer> closeCode = new CompletableFuture<>();
  private volatile boolean reading = true;

  private WsClient(URI uri) {
    this.socket = HttpClient.newHttpClient().newWebSocketBuilder()
        .buildAsync(uri, new Listener()).join();
  }

  public static WsClient connect(int port) {
    return new WsClient(URI.create("ws://127.0.0.1:" + port + "/v1/ws"));
  }

  /** Stops reading the socket after the frame being read now: the server sees a client that does not keep up. */
  public void stopReading() {
    reading = false;
  }

  public void resumeReading() {
    reading = true;
    socket.request(1);
  }

  public WsClient send(ClientFrame frame) {
    return sendRaw(CODEC.encodeClient(frame));
  }

  public WsClient sendRaw(String text) {
    socket.sendText(text, true).join();
    return this;
  }

  /** One text message sent as several WebSocket frames (continuation frames after the first). */
  public WsClient sendFragmented(String... parts) {
    for (int i = 0; i < parts.length; i++) {
      socket.sendText(parts[i], i == parts.length - 1).join();
    }
    return this;
  }

  public WsClient sendBinary(byte[] bytes) {
    socket.sendBinary(ByteBuffer.wrap(bytes), true).join();
    return this;
  }

  /** The next frame, which must be of {@code type}. */
  public <T extends ServerFrame> T next(Class<T> type) {
    ServerFrame frame = poll(WAIT);
    assertThat(frame).as("a %s frame within %s", type.getSimpleName(), WAIT).isInstanceOf(type);
    return type.cast(frame);
  }

  /** Skips frames until one of {@code type} matching {@code test} arrives. */
  public <T extends ServerFrame> T await(Class<T> type, Predicate<T> test) {
    long deadline = System.nanoTime() + WAIT.toNanos();
    while (System.nanoTime() < deadline) {
      ServerFrame frame = poll(Duration.ofNanos(deadline - System.nanoTime()));
      if (type.isInstance(frame) && test.test(type.cast(frame))) {
        return type.cast(frame);
      }
    }
    throw new AssertionError("no matching " + type.getSimpleName() + " within " + WAIT);
  }

  /** All frames that arrive until {@code quiet} passes without one. */
  public List<ServerFrame> drain(Duration quiet) {
    List<ServerFrame> drained = new ArrayList<>();
    ServerFrame frame;
    while ((frame = poll(quiet)) != null) {
      drained.add(frame);
    }
    return drained;
  }

  /** Skips receipts until one matching {@code test} arrives. */
  public ServerFrame.Receipt receipt(Predicate<ServerFrame.Receipt> test) {
    long deadline = System.nanoTime() + WAIT.toNanos();
    while (System.nanoTime() < deadline) {
      ServerFrame.Receipt receipt = pollFrom(receipts, Duration.ofNanos(deadline - System.nanoTime()));
      if (receipt != null && test.test(receipt)) {
        return receipt;
      }
    }
    throw new AssertionError("no matching receipt within " + WAIT);
  }

  /** Skips pushed presence frames until one matching {@code test} arrives (within {@code within}). */
  public ServerFrame.Presence presence(Predicate<ServerFrame.Presence> test, Duration within) {
    long deadline = System.nanoTime() + within.toNanos();
    while (System.nanoTime() < deadline) {
      ServerFrame.Presence frame = pollFrom(presence, Duration.ofNanos(deadline - System.nanoTime()));
      if (frame != null && test.test(frame)) {
        return frame;
      }
    }
    throw new AssertionError("no matching presence frame within " + within);
  }

  /** All pushed presence frames that arrive until {@code quiet} passes without one. */
  public List<ServerFrame.Presence> drainPresence(Duration quiet) {
    List<ServerFrame.Presence> drained = new ArrayList<>();
    ServerFrame.Presence frame;
    while ((frame = pollFrom(presence, quiet)) != null) {
      drained.add(frame);
    }
    return drained;
  }

  /** All receipts that arrive until {@code quiet} passes without one. */
  public List<ServerFrame.Receipt> drainReceipts(Duration quiet) {
    List<ServerFrame.Receipt> drained = new ArrayList<>();
    ServerFrame.Receipt receipt;
    while ((receipt = pollFrom(receipts, quiet)) != null) {
      drained.add(receipt);
    }
    return drained;
  }

  public ServerFrame poll(Duration timeout) {
    return pollFrom(frames, timeout);
  }

  private static <T> T pollFrom(LinkedBlockingQueue<T> queue, Duration timeout) {
    try {
      return queue.poll(Math.max(0, timeout.toMillis()), TimeUnit.MILLISECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  /** A WebSocket ping frame (the transport's, not the protocol's {@code ping}). */
  public WsClient sendPing(byte[] payload) {
    socket.sendPing(ByteBuffer.wrap(payload)).join();
    return this;
  }

  /** The payload of the next WebSocket pong, waiting for it. */
  public byte[] nextPong() {
    ByteBuffer pong = pollFrom(pongs, WAIT);
    assertThat(pong).as("a pong within " + WAIT).isNotNull();
    byte[] payload = new byte[pong.remaining()];
    pong.get(payload);
    return payload;
  }

  /** Starts the close handshake from the client's side. */
  public void sendClose(int code, String reason) {
    socket.sendClose(code, reason).join();
  }

  /** The WebSocket close code the server sent, waiting for it. */
  public int awaitClose() {
    try {
      return closeCode.get(WAIT.toMillis(), TimeUnit.MILLISECONDS);
    } catch (Exception e) {
      throw new AssertionError("socket not closed within " + WAIT, e);
    }
  }

  public boolean isClosed() {
    return closeCode.isDone();
  }

  @Override
  public void close() {
    if (!socket.isOutputClosed()) {
      socket.sendClose(WebSocket.NORMAL_CLOSURE, "bye").exceptionally(e -> null);
    }
    socket.abort();
  }

  private final class Listener implements WebSocket.Listener {
    private final StringBuilder partial = new StringBuilder();

    @Override
    public CompletionStage<?> onText(WebSocket webSocket, CharSequence data, boolean last) {
      partial.append(data);
      if (last) {
        ServerFrame frame = CODEC.decodeServer(partial.toString());
        if (frame instanceof ServerFrame.Receipt receipt) {
          receipts.add(receipt);
        } else if (frame instanceof ServerFrame.Presence pushed) {
          presence.add(pushed);
        } else {
          frames.add(frame);
        }
        partial.setLength(0);
      }
      if (reading) {
        webSocket.request(1);
      }
      return null;
    }

    @Override
    public CompletionStage<?> onPong(WebSocket webSocket, ByteBuffer message) {
      ByteBuffer copy = ByteBuffer.allocate(message.remaining());
      copy.put(message).flip();
      pongs.add(copy);
      webSocket.request(1);
      return null;
    }

    @Override
    public CompletionStage<?> onClose(WebSocket webSocket, int statusCode, String reason) {
      closeCode.complete(statusCode);
      return null;
    }

    @Override
    public void onError(WebSocket webSocket, Throwable error) {
      closeCode.complete(-1);
    }
  }
}
