package io.parley.gateway;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.typesafe.config.ConfigFactory;
import io.parley.testing.NodeExtension;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * pekko-http's {@code max-connections} caps the sockets a node holds at once: past it, a new connection is
 * not served at all (it waits in the listen backlog, unanswered, until another closes). The node's limit is
 * Parley's setting, not pekko-http's default of 1,024.
 */
class ConnectionLimitTest {
  private static final int LIMIT = 3;

  @RegisterExtension
  static final NodeExtension parley = new NodeExtension(Map.of("pekko.http.server.max-connections", LIMIT));

  private final List<Socket> sockets = new ArrayList<>();

  @AfterEach
  void closeSockets() throws IOException {
    for (Socket socket : sockets) {
      socket.close();
    }
  }

  @Test
  void pastTheLimitANewConnectionIsServedOnlyOnceAnotherCloses() throws IOException {
    for (int i = 0; i < LIMIT; i++) {
      Socket held = open();
      assertThat(statusOf(held, Duration.ofSeconds(10))).as("connection %d of %d", i + 1, LIMIT).isEqualTo(404);
    }
    Socket extra = open();
    assertThat(statusOf(extra, Duration.ofSeconds(1))).as("past the limit: not served").isNull();

    sockets.get(0).close();
    await().atMost(Duration.ofSeconds(10)).untilAsserted(() ->
        assertThat(readStatus(extra, Duration.ofMillis(200))).as("served once a slot is free").isEqualTo(404));
  }

  @Test
  void aNodeIsConfiguredForAHundredThousandConnections() {
    assertThat(ConfigFactory.load().getInt("pekko.http.server.max-connections")).isEqualTo(100_000);
  }

  private Socket open() throws IOException {
    Socket socket = new Socket(InetAddress.getLoopbackAddress(), parley.port());
    sockets.add(socket);
    return socket;
  }

  /** Sends a keep-alive request for a path that does not exist; the status, or null when none came in time. */
  private static Integer statusOf(Socket socket, Duration wait) throws IOException {
    OutputStream out = socket.getOutputStream();
    out.write(("GET /nothing-here HTTP/1.1\r\nHost: parley\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
    out.flush();
    return readStatus(socket, wait);
  }

  private static Integer readStatus(Socket socket, Duration wait) throws IOException {
    socket.setSoTimeout((int) wait.toMillis());
    InputStream in = socket.getInputStream();
    StringBuilder line = new StringBuilder();
    try {
      int b;
      while ((b = in.read()) >= 0 && b != '\n') {
        line.append((char) b);
      }
    } catch (SocketTimeoutException notYet) {
      if (line.length() == 0) {
        return null;
      }
    }
    String[] parts = line.toString().trim().split(" ");
    return parts.length > 1 ? Integer.valueOf(parts[1]) : null;
  }
}
