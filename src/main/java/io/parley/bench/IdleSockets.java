package io.parley.bench;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.Base64;
import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Many WebSockets on one selector thread, each bound to a chosen loopback source address: the JDK's
 * WebSocket client can neither pick the source address (Java 17) nor hold tens of thousands of sockets
 * cheaply. It speaks just enough of RFC 6455 for idle clients: the upgrade, masked text frames out, text
 * frames in (handed to a listener), pongs for the server's pings, and the close.
 */
final class IdleSockets implements AutoCloseable {

  /** One socket; {@code id} is the caller's index. */
  static final class Socket {
    final int id;
    private final SocketChannel channel;
    private final Queue<ByteBuffer> writes = new ArrayDeque<>();
    private String firstText;
    private ByteArrayOutputStream partial;
    private boolean upgraded;
    private volatile boolean open = true;

    private Socket(int id, SocketChannel channel) {
      this.id = id;
      this.channel = channel;
    }

    boolean isOpen() {
      return open;
    }
  }

  /** What a socket hears: its text frames, and its end (null text). */
  interface Listener {
    void onText(Socket socket, String text);

    void onClosed(Socket socket, String why);
  }

  private static final int OP_TEXT = 0x1;
  private static final int OP_CLOSE = 0x8;
  private static final int OP_PING = 0x9;
  private static final int OP_PONG = 0xA;

  private final Selector selector;
  private final InetSocketAddress server;
  private final String upgrade;
  private final Listener listener;
  private final Queue<Runnable> tasks = new ConcurrentLinkedQueue<>();
  private final ByteBuffer read = ByteBuffer.allocate(256 * 1024);
  private final Thread loop;
  private volatile boolean running = true;

  IdleSockets(URI ws, Listener listener) throws IOException {
    this.selector = Selector.open();
    this.server = new InetSocketAddress(ws.getHost(), ws.getPort());
    this.upgrade = "GET /v1/ws HTTP/1.1\r\nHost: " + ws.getHost() + ":" + ws.getPort()
        + "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: ";
    this.listener = listener;
    this.loop = new Thread(this::run, "bench-idle-sockets");
    loop.setDaemon(true);
    loop.start();
  }

  /** Opens a socket from {@code source}; once the upgrade is answered, sends {@code firstText}. */
  void open(int id, InetAddress source, String firstText) {
    tasks.add(() -> {
      try {
        SocketChannel channel = SocketChannel.open();
        channel.bind(new InetSocketAddress(source, 0));
        channel.configureBlocking(false);
        Socket socket = new Socket(id, channel);
        byte[] nonce = new byte[16];
        ThreadLocalRandom.current().nextBytes(nonce);
        socket.writes.add(ascii(upgrade + Base64.getEncoder().encodeToString(nonce) + "\r\n\r\n"));
        // sent once the upgrade is answered: bytes right behind the request would be read as another request
        socket.firstText = firstText;
        boolean connected = channel.connect(server);
        channel.register(selector, connected ? SelectionKey.OP_READ | SelectionKey.OP_WRITE
            : SelectionKey.OP_CONNECT, socket);
      } catch (IOException e) {
        listener.onClosed(new Socket(id, null), "connect: " + e.getMessage());
      }
    });
    selector.wakeup();
  }

  /** Sends a text frame (from any thread). */
  void send(Socket socket, String text) {
    tasks.add(() -> queue(socket, frame(OP_TEXT, text.getBytes(StandardCharsets.UTF_8))));
    selector.wakeup();
  }

  /** Closes the TCP connection at once, as a client that goes away does. */
  void drop(Socket socket) {
    tasks.add(() -> end(socket, null));
    selector.wakeup();
  }

  private void run() {
    while (running) {
      try {
        selector.select(1000);
        Runnable task;
        while ((task = tasks.poll()) != null) {
          task.run();
        }
        for (SelectionKey key : selector.selectedKeys()) {
          Socket socket = (Socket) key.attachment();
          try {
            if (!key.isValid()) {
              continue;
            }
            if (key.isConnectable() && socket.channel.finishConnect()) {
              key.interestOps(SelectionKey.OP_READ | SelectionKey.OP_WRITE);
            }
            if (key.isValid() && key.isWritable()) {
              flush(socket, key);
            }
            if (key.isValid() && key.isReadable()) {
              readFrom(socket);
            }
          } catch (IOException | RuntimeException e) {
            end(socket, e.getClass().getSimpleName() + ": " + e.getMessage());
          }
        }
        selector.selectedKeys().clear();
      } catch (IOException e) {
        running = false;
      }
    }
  }

  private void queue(Socket socket, ByteBuffer bytes) {
    if (!socket.open) {
      return;
    }
    socket.writes.add(bytes);
    SelectionKey key = socket.channel.keyFor(selector);
    if (key != null && key.isValid() && (key.interestOps() & SelectionKey.OP_CONNECT) == 0) {
      key.interestOps(SelectionKey.OP_READ | SelectionKey.OP_WRITE);
    }
  }

  private void flush(Socket socket, SelectionKey key) throws IOException {
    while (!socket.writes.isEmpty()) {
      ByteBuffer head = socket.writes.peek();
      socket.channel.write(head);
      if (head.hasRemaining()) {
        return;
      }
      socket.writes.poll();
    }
    key.interestOps(SelectionKey.OP_READ);
  }

  private void readFrom(Socket socket) throws IOException {
    read.clear();
    if (socket.partial != null) {
      read.put(socket.partial.toByteArray());
      socket.partial = null;
    }
    int n = socket.channel.read(read);
    if (n < 0) {
      end(socket, "closed by the server");
      return;
    }
    read.flip();
    if (!socket.upgraded && !readUpgrade(socket)) {
      keep(socket);
      return;
    }
    while (socket.open && read.remaining() >= 2) {
      int start = read.position();
      int b0 = read.get() & 0xFF;
      int b1 = read.get() & 0x7F;
      long length = b1;
      if (b1 == 126) {
        if (read.remaining() < 2) {
          read.position(start);
          break;
        }
        length = read.getShort() & 0xFFFF;
      } else if (b1 == 127) {
        if (read.remaining() < 8) {
          read.position(start);
          break;
        }
        length = read.getLong();
      }
      if (read.remaining() < length) {
        read.position(start);
        break;
      }
      byte[] payload = new byte[(int) length];
      read.get(payload);
      switch (b0 & 0x0F) {
        case OP_TEXT -> listener.onText(socket, new String(payload, StandardCharsets.UTF_8));
        case OP_PING -> queue(socket, frame(OP_PONG, payload));
        case OP_CLOSE -> end(socket, "close frame");
        default -> { } // pongs, and continuation frames, which the server does not send for small frames
      }
    }
    keep(socket);
  }

  /** Reads the upgrade answer; false while it is incomplete. */
  private boolean readUpgrade(Socket socket) throws IOException {
    String head = StandardCharsets.ISO_8859_1.decode(read.duplicate()).toString();
    int end = head.indexOf("\r\n\r\n");
    if (end < 0) {
      return false;
    }
    if (!head.startsWith("HTTP/1.1 101")) {
      end(socket, "upgrade refused: " + head.lines().findFirst().orElse(""));
      return false;
    }
    socket.upgraded = true;
    read.position(read.position() + end + 4);
    queue(socket, frame(OP_TEXT, socket.firstText.getBytes(StandardCharsets.UTF_8)));
    socket.firstText = null;
    return true;
  }

  private void keep(Socket socket) {
    if (socket.open && read.hasRemaining()) {
      socket.partial = new ByteArrayOutputStream(read.remaining());
      socket.partial.write(read.array(), read.position(), read.remaining());
    }
  }

  private void end(Socket socket, String why) {
    if (!socket.open) {
      return;
    }
    socket.open = false;
    try {
      socket.channel.close();
    } catch (IOException ignored) {
      // closing anyway
    }
    listener.onClosed(socket, why);
  }

  private static ByteBuffer frame(int opcode, byte[] payload) {
    int extra = payload.length < 126 ? 0 : payload.length < 65536 ? 2 : 8;
    ByteBuffer out = ByteBuffer.allocate(2 + extra + 4 + payload.length);
    out.put((byte) (0x80 | opcode));
    if (extra == 0) {
      out.put((byte) (0x80 | payload.length));
    } else if (extra == 2) {
      out.put((byte) (0x80 | 126)).putShort((short) payload.length);
    } else {
      out.put((byte) (0x80 | 127)).putLong(payload.length);
    }
    byte[] mask = new byte[4];
    ThreadLocalRandom.current().nextBytes(mask);
    out.put(mask);
    for (int i = 0; i < payload.length; i++) {
      out.put((byte) (payload[i] ^ mask[i & 3]));
    }
    return out.flip();
  }

  private static ByteBuffer ascii(String text) {
    return ByteBuffer.wrap(text.getBytes(StandardCharsets.US_ASCII));
  }

  @Override
  public void close() throws IOException {
    running = false;
    selector.wakeup();
    try {
      loop.join(5000);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    for (SelectionKey key : selector.keys()) {
      key.channel().close();
    }
    selector.close();
  }

}
