package io.parley.testing;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * Forwards TCP connections from a loopback port to another; {@link #cut} drops every connection and
 * refuses new ones, as a network partition between a node and a server would.
 * {@link #swallowCurrentConnections} turns the connections made so far into black holes instead.
 */
public final class TcpProxy implements AutoCloseable {
  private final ServerSocket server;
  private final int target;
  private final List<Socket> sockets = new CopyOnWriteArrayList<>();
  private final List<AtomicBoolean> passing = new CopyOnWriteArrayList<>();
  private volatile boolean cut;

  public TcpProxy(int targetPort) {
    this.target = targetPort;
    try {
      this.server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    Thread accepting = new Thread(this::accept, "tcp-proxy-" + server.getLocalPort());
    accepting.setDaemon(true);
    accepting.start();
  }

  public int port() {
    return server.getLocalPort();
  }

  /**
   * Connections made so far stay open but pass no more bytes, and neither end learns when the other
   * closes, as when a mobile network drops a connection without telling either end. New connections
   * forward normally.
   */
  public void swallowCurrentConnections() {
    passing.forEach(flag -> flag.set(false));
  }

  public void cut() {
    cut = true;
    sockets.forEach(TcpProxy::closeQuietly);
  }

  @Override
  public void close() {
    cut();
    closeQuietly(server);
  }

  private void accept() {
    while (!server.isClosed()) {
      try {
        Socket client = server.accept();
        if (cut) {
          client.close();
          continue;
        }
        Socket upstream = new Socket(InetAddress.getLoopbackAddress(), target);
        sockets.add(client);
        sockets.add(upstream);
        AtomicBoolean connectionPassing = new AtomicBoolean(true);
        passing.add(connectionPassing);
        pump(client, upstream, connectionPassing);
        pump(upstream, client, connectionPassing);
      } catch (IOException e) {
        // closed, or the target refused: the client sees its connection drop
      }
    }
  }

  private void pump(Socket from, Socket to, AtomicBoolean connectionPassing) {
    Thread thread = new Thread(() -> {
      byte[] buffer = new byte[8192];
      try {
        InputStream in = from.getInputStream();
        OutputStream out = to.getOutputStream();
        int n;
        while ((n = in.read(buffer)) >= 0) {
          if (connectionPassing.get()) {
            out.write(buffer, 0, n);
            out.flush();
          }
        }
      } catch (IOException e) {
        // either side went away
      } finally {
        // a swallowed connection stays open until the proxy closes
        if (connectionPassing.get()) {
          closeQuietly(from);
          closeQuietly(to);
        }
      }
    }, "tcp-proxy-pump");
    thread.setDaemon(true);
    thread.start();
  }

  private static void closeQuietly(java.io.Closeable closeable) {
    try {
      closeable.close();
    } catch (IOException ignored) {
      // already closed
    }
  }
}
