package io.parley.testing;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.Executors;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

/**
 * A real agent service over HTTP for tests: receives binary-mode CloudEvents, records them, and (when
 * asked) answers each new event id by POSTing a reply CloudEvent to the node with its bearer secret. It can
 * be told to fail (503) to play an agent that is down.
 */
public final class TestAgent implements AutoCloseable {
  private static final ObjectMapper JSON = new ObjectMapper();

  /** An event as the agent saw it. */
  public record Received(String id, String type, String conversationId, long seq, String text) {}

  public enum Mode { UP, FAILING }

  private final HttpServer server;
  // a reply the node answers 503 is sent again with the same id, as docs/agents.md asks (after a short pause
  // rather than the node's Retry-After, to keep tests fast)
  private static final int REPLY_ATTEMPTS = 5;
  private static final long REPLY_RETRY_MS = 500;
  private final ScheduledExecutorService replies = Executors.newSingleThreadScheduledExecutor();
  private final HttpClient http = HttpClient.newHttpClient();
  private final BlockingQueue<Received> received = new LinkedBlockingQueue<>();
  private final List<String> seenIds = new CopyOnWriteArrayList<>();
  private final List<Integer> replyStatuses = new CopyOnWriteArrayList<>();
  private final AtomicReference<Mode> mode = new AtomicReference<>(Mode.UP);
  private final AtomicInteger attempts = new AtomicInteger();
  private volatile URI parley;
  private volatile String agentId;
  private volatile String secret;

  private TestAgent(HttpServer server) {
    this.server = server;
  }

  public static TestAgent start() throws IOException {
    HttpServer server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
    TestAgent agent = new TestAgent(server);
    server.createContext("/events", agent::handle);
    server.setExecutor(Executors.newFixedThreadPool(4));
    server.start();
    return agent;
  }

  public URI endpoint() {
    return URI.create("http://127.0.0.1:" + server.getAddress().getPort() + "/events");
  }

  /** From now on, every new event id is answered with {@code "echo: " + text}. */
  public TestAgent replyingTo(URI parleyNode, String agentId, String secret) {
    this.parley = parleyNode;
    this.agentId = agentId;
    this.secret = secret;
    return this;
  }

  public void mode(Mode next) {
    mode.set(next);
  }

  public int attempts() {
    return attempts.get();
  }

  public BlockingQueue<Received> received() {
    return received;
  }

  /** Every event id accepted, in order, with repeats when the sender retried an accepted event. */
  public List<String> acceptedIds() {
    return List.copyOf(seenIds);
  }

  /** The node's HTTP status for each reply this agent posted (each attempt), in order. */
  public List<Integer> replyStatuses() {
    return List.copyOf(replyStatuses);
  }

  private void handle(HttpExchange exchange) throws IOException {
    attempts.incrementAndGet();
    byte[] body = exchange.getRequestBody().readAllBytes();
    if (mode.get() == Mode.FAILING) {
      respond(exchange, 503);
      return;
    }
    var headers = exchange.getRequestHeaders();
    String id = headers.getFirst("ce-id");
    JsonNode data = JSON.readTree(body);
    Received event = new Received(id, headers.getFirst("ce-type"), headers.getFirst("ce-parleyconversation"),
        Long.parseLong(headers.getFirst("ce-parleyseq")), data.path("text").asText());
    boolean first = !seenIds.contains(id);
    seenIds.add(id);
    respond(exchange, 202);
    if (first) {
      received.add(event);
      if (parley != null) {
        replies.execute(() -> reply(event, 1));
      }
    }
  }

  private void reply(Received event, int attempt) {
    try {
      String body = JSON.writeValueAsString(Map.of("text", "echo: " + event.text()));
      HttpRequest request = HttpRequest.newBuilder(parley.resolve("/v1/agents/" + agentId + "/events"))
          .header("Authorization", "Bearer " + secret)
          .header("Content-Type", "application/json")
          .header("ce-specversion", "1.0")
          .header("ce-id", event.id() + ":reply-" + UUID.nameUUIDFromBytes(event.id().getBytes(StandardCharsets.UTF_8)))
          .header("ce-type", "io.parley.reply.message")
          .header("ce-source", "/test-agent")
          .header("ce-parleyconversation", event.conversationId())
          .POST(HttpRequest.BodyPublishers.ofString(body))
          .build();
      int status = http.send(request, HttpResponse.BodyHandlers.discarding()).statusCode();
      replyStatuses.add(status);
      if (status == 503 && attempt < REPLY_ATTEMPTS) {
        replies.schedule(() -> reply(event, attempt + 1), REPLY_RETRY_MS, TimeUnit.MILLISECONDS);
      }
    } catch (IOException e) {
      throw new IllegalStateException("the test agent could not reply", e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  private static void respond(HttpExchange exchange, int status) throws IOException {
    exchange.sendResponseHeaders(status, -1);
    exchange.close();
  }

  @Override
  public void close() {
    server.stop(0);
    replies.shutdownNow();
  }
}
