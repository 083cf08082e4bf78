package io.parley.agent.events;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.ToIntFunction;

/**
 * An agent service on a real socket (the JDK's HTTP server): records every request it receives and answers
 * with the status its responder returns (the responder may block, as a slow agent does). Counts requests in
 * flight and the most there ever were.
 */
final class TestAgentServer implements AutoCloseable {

  /** A request as the agent saw it: header names lower-cased. */
  record Received(Map<String, String> headers, byte[] body) {
    String header(String name) {
      return headers.get(name.toLowerCase());
    }
  }

  private final HttpServer server;
  private final ExecutorService executor = Executors.newFixedThreadPool(16);
  private final List<Received> received = new CopyOnWriteArrayList<>();
  private final AtomicInteger inFlight = new AtomicInteger();
  private final AtomicInteger maxInFlight = new AtomicInteger();
  private volatile ToIntFunction<Received> responder;

  private TestAgentServer(int port, ToIntFunction<Received> responder) {
    this.responder = responder;
    try {
      server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), 64);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    server.createContext("/", this::handle);
    server.setExecutor(executor);
    server.start();
  }

  static TestAgentServer start(ToIntFunction<Received> responder) {
    return new TestAgentServer(0, responder);
  }

  static TestAgentServer startOn(int port, ToIntFunction<Received> responder) {
    return new TestAgentServer(port, responder);
  }

  URI uri() {
    return URI.create("http://127.0.0.1:" + server.getAddress().getPort() + "/agent");
  }

  List<Received> received() {
    return List.copyOf(received);
  }

  int inFlight() {
    return inFlight.get();
  }

  int maxInFlight() {
    return maxInFlight.get();
  }

  void respondWith(ToIntFunction<Received> responder) {
    this.responder = responder;
  }

  private void handle(HttpExchange exchange) throws IOException {
    int now = inFlight.incrementAndGet();
    maxInFlight.accumulateAndGet(now, Math::max);
    try (exchange) {
      int status;
      try {
        Map<String, String> headers = new TreeMap<>();
        exchange.getRequestHeaders().forEach((name, values) -> headers.put(name.toLowerCase(), values.get(0)));
        Received request = new Received(Map.copyOf(headers), exchange.getRequestBody().readAllBytes());
        received.add(request);
        status = responder.applyAsInt(request);
      } finally {
        // before the answer leaves: the client's next request must not find this one still counted
        inFlight.decrementAndGet();
      }
      exchange.sendResponseHeaders(status, -1);
    }
  }

  @Override
  public void close() {
    server.stop(0);
    executor.shutdownNow();
  }
}
