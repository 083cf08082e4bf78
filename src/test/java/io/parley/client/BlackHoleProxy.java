package io.parley.client;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * A TCP forwarder on loopback whose current connections can be turned into black holes: they stay open
 * but nothing passes any more, as when a mobile network drops a connection without telling either end.
 * New connections forward normally.
 */
final class BlackHoleProxy implements AutoCloseable {
  private final ServerSocket server;
  private final int target;
  private final List<AtomicBoolean> open = new CopyOnWriteArrayList<>();
  private final List<Socket> sockets = new CopyOnWriteArrayList<>();

  BlackHoleProxy(int target) throws IOException {
    this.target = target;
    this.server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
    Thread acceptor = new Thread(this::accept, "black-hole-proxy");
    acceptor.setDaemon(true);
    acceptor.start();
  }

  int port() {
    return server.getLocalPort();
  }

  /** Connections made so far stop passing bytes (and stay open). */
  void swallowCurrentConnections() {
    open.forEach(flag -> flag.set(false));
  }

  private void accept() {
    while (!server.isClosed()) {
      try {
        Socket client = server.accept();
        Socket upstream = new Socket(InetAddress.getLoopbackAddress(), target);
        sockets.add(client);
        sockets.add(upstream);
        AtomicBoolean passing = new AtomicBoolean(true);
        open.add(passing);
        pump(client.getInputStream(), upstream.getOutputStream(), passing);
        pump(upstream.getInputStream(), client.getOutputStream(), passing);
      } catch (IOException closed) {
        return;
      }
    }
  }

  private static void pump(InputStream in, OutputStream out, AtomicBoolean passing) {
    Thread thread = new Thread(() -> {
      byte[] buffer = new byte[16 * 1024];
      try {
        int read;
        while ((read = in.read(buffer)) >= 0) {
          if (passing.get()) {
            out.write(buffer, 0, read);
            out.flush();
          }
        }
      } catch (IOException closed) {
        // either side went away
      }
    }, "black-hole-pump");
    thread.setDaemon(true);
    thread.start();
  }

  @Override
  public void close() throws IOException {
    server.close();
    for (Socket socket : sockets) {
      socket.close();
    }
  }
}
