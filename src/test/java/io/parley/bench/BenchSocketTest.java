package io.parley.bench;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.net.InetAddress;
import java.net.URI;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.http.javadsl.Http;
import org.apache.pekko.http.javadsl.ServerBinding;
import org.apache.pekko.http.javadsl.model.AttributeKeys;
import org.apache.pekko.http.javadsl.model.RemoteAddress;
import org.apache.pekko.http.javadsl.model.ws.Message;
import org.apache.pekko.http.javadsl.model.ws.TextMessage;
import org.apache.pekko.http.javadsl.model.ws.WebSocket;
import org.apache.pekko.stream.javadsl.Flow;
import org.apache.pekko.stream.javadsl.Sink;
import org.apache.pekko.stream.javadsl.Source;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The bench's client sockets against real pekko-http servers over loopback. */
class BenchSocketTest {
  private static final int PER_ADDRESS = 25;
  private static BenchTransport transport;
  private static ServerBinding echo;

  @BeforeAll
  static void start() throws Exception {
    transport = new BenchTransport(URI.create("ws://127.0.0.1"), PER_ADDRESS, 2);
    echo = EchoServer.bind(transport, "127.0.0.1", 0).toCompletableFuture().get(30, TimeUnit.SECONDS);
  }

  @AfterAll
  static void stop() {
    transport.close();
  }

  @Test
  void sourceAddressesFillOneAddressThenTheNext() throws Exception {
    assertThat(transport.sourceAddress(0)).isEqualTo(InetAddress.getByName("127.0.0.2"));
    assertThat(transport.sourceAddress(PER_ADDRESS - 1)).isEqualTo(InetAddress.getByName("127.0.0.2"));
    assertThat(transport.sourceAddress(PER_ADDRESS)).isEqualTo(InetAddress.getByName("127.0.0.3"));
    assertThat(transport.sourceAddress(300 * PER_ADDRESS)).isEqualTo(InetAddress.getByName("127.0.1.46"));
    assertThat(transport.addressesFor(2_000)).isEqualTo(80);
    try (BenchTransport remote = new BenchTransport(URI.create("ws://192.0.2.1:8080"), PER_ADDRESS, 1)) {
      assertThat(remote.addressesFor(2_000)).isEqualTo(1);
    }
  }

  @Test
  void theEchoServerSendsEveryTextFrameBackInOrder() throws Exception {
    StringBuffer received = new StringBuffer();
    CompletableFuture<Void> three = new CompletableFuture<>();
    BenchSocket socket = BenchSocket.open(transport, echoUri("/ws"), 0, text -> {
      received.append(text).append(';');
      if (received.toString().split(";").length == 3) {
        three.complete(null);
      }
    }).get(30, TimeUnit.SECONDS);

    assertThat(socket.send("one")).isTrue();
    assertThat(socket.send("two")).isTrue();
    assertThat(socket.send("x".repeat(100_000))).isTrue(); // large enough to arrive fragmented
    three.get(30, TimeUnit.SECONDS);
    socket.close();

    assertThat(received.toString()).isEqualTo("one;two;" + "x".repeat(100_000) + ";");
  }

  @Test
  void aSocketConnectsFromItsSourceAddress() throws Exception {
    ServerBinding whoami = Http.get(transport.system()).newServerAt("127.0.0.1", 0).bindSync(request -> {
      String peer = request.getAttribute(AttributeKeys.remoteAddress)
          .flatMap(RemoteAddress::getAddress).map(InetAddress::getHostAddress).orElse("unknown");
      return WebSocket.handleWebSocketRequestWith(request,
          Flow.fromSinkAndSource(Sink.ignore(), Source.<Message>single(TextMessage.create(peer)).concat(Source.maybe())));
    }).toCompletableFuture().get(30, TimeUnit.SECONDS);
    try {
      CompletableFuture<String> first = new CompletableFuture<>();
      URI uri = URI.create("ws://127.0.0.1:" + whoami.localAddress().getPort() + "/");
      BenchSocket socket = BenchSocket.open(transport, uri, 2 * PER_ADDRESS, first::complete).get(30, TimeUnit.SECONDS);

      assertThat(first.get(30, TimeUnit.SECONDS)).isEqualTo("127.0.0.4");
      socket.close();
    } finally {
      whoami.unbind().toCompletableFuture().get(30, TimeUnit.SECONDS);
    }
  }

  @Test
  void anUpgradeTheServerRefusesFailsTheOpen() {
    assertThatThrownBy(() -> BenchSocket.open(transport, echoUri("/not-here"), 0, text -> { })
        .get(30, TimeUnit.SECONDS))
        .hasMessageContaining("HTTP 404");
  }

  private static URI echoUri(String path) {
    return URI.create("ws://127.0.0.1:" + echo.localAddress().getPort() + path);
  }
}
