package io.parley.agent.routing;

import static io.parley.agent.routing.RoutingFixtures.FIXTURE;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executors;
import java.util.concurrent.LinkedBlockingQueue;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The remote classifier against a real HTTP server on loopback. */
class RemoteIntentClassifierTest {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final FallbackPolicy POLICY = new FallbackPolicy(0.25, FIXTURE.fallbackAgent());

  private HttpServer server;
  private final BlockingQueue<JsonNode> requests = new LinkedBlockingQueue<>();
  private final CountDownLatch release = new CountDownLatch(1);
  private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();

  @BeforeEach
  void start() throws IOException {
    server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
    server.setExecutor(Executors.newCachedThreadPool());
    answer("/travel", 200, "{\"agentId\":\"travel\",\"confidence\":0.93}");
    answer("/unsure", 200, "{\"agentId\":\"travel\",\"confidence\":0.1}");
    answer("/none", 200, "{\"agentId\":null,\"confidence\":0}");
    answer("/broken", 500, "{\"error\":\"boom\"}");
    answer("/unknown-agent", 200, "{\"agentId\":\"assistant\",\"confidence\":0.9}");
    answer("/not-json", 200, "<html>");
    answer("/bad-confidence", 200, "{\"agentId\":\"travel\",\"confidence\":7}");
    server.createContext("/slow", exchange -> {
      try {
        release.await();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
      respond(exchange, 200, "{\"agentId\":\"travel\",\"confidence\":0.93}");
    });
    server.start();
  }

  @AfterEach
  void stop() {
    release.countDown();
    server.stop(0);
  }

  private void answer(String path, int status, String body) {
    server.createContext(path, exchange -> {
      requests.add(JSON.readTree(exchange.getRequestBody()));
      respond(exchange, status, body);
    });
  }

  private static void respond(HttpExchange exchange, int status, String body) throws IOException {
    byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
    exchange.getResponseHeaders().add("Content-Type", "application/json");
    exchange.sendResponseHeaders(status, bytes.length);
    try (OutputStream out = exchange.getResponseBody()) {
      out.write(bytes);
    }
  }

  private RemoteIntentClassifier remote(String path, Duration timeout) {
    URI url = URI.create("http://127.0.0.1:" + server.getAddress().getPort() + path);
    return new RemoteIntentClassifier(url, timeout, http, POLICY, new LuceneIntentClassifier(POLICY), Clock.systemUTC());
  }

  private static IntentDecision classify(IntentClassifier classifier, String text) {
    return classifier.classify(text, FIXTURE.snapshot(4)).toCompletableFuture().join();
  }

  @Test
  void theServiceGetsTheTextAndTheRoutableAgentsAndItsAnswerIsTheDecision() throws InterruptedException {
    RemoteIntentClassifier classifier = remote("/travel", Duration.ofSeconds(5));
    // the local classifier would send this to orders: the answer must be the service's
    assertThat(classify(classifier, "where is my package")).isEqualTo(new IntentDecision("travel", 0.93, false, false));
    JsonNode request = requests.take();
    assertThat(request.get("text").asText()).isEqualTo("where is my package");
    assertThat(request.get("registryVersion").asLong()).isEqualTo(4);
    assertThat(request.get("agents")).hasSize(FIXTURE.agents().size());
    JsonNode billing = request.get("agents").get(1);
    assertThat(billing.get("id").asText()).isEqualTo("billing");
    assertThat(billing.get("description").asText()).startsWith("Billing and payments");
    assertThat(billing.get("examples").size()).isEqualTo(10);
    assertThat(classifier.failures()).isZero();
  }

  @Test
  void theThresholdAndFallbackAgentApplyToTheServicesAnswer() {
    assertThat(classify(remote("/unsure", Duration.ofSeconds(5)), "where is my package"))
        .isEqualTo(new IntentDecision("helpdesk", 0.1, true, false));
    assertThat(classify(remote("/none", Duration.ofSeconds(5)), "where is my package"))
        .isEqualTo(new IntentDecision("helpdesk", 0.0, true, false));
  }

  @Test
  void whenTheServiceFailsOrAnswersNonsenseTheTextIsClassifiedLocally() {
    for (String path : new String[] {"/unknown-agent", "/not-json", "/broken", "/bad-confidence", "/missing"}) {
      RemoteIntentClassifier classifier = remote(path, Duration.ofSeconds(5));
      IntentDecision decision = classify(classifier, "where is my package");
      assertThat(decision.agentId()).as(path).isEqualTo("orders");
      assertThat(classifier.failures()).as(path).isEqualTo(1);
    }
  }

  @Test
  void aSlowServiceIsAbandonedAfterTheTimeout() {
    RemoteIntentClassifier classifier = remote("/slow", Duration.ofMillis(200));
    long start = System.nanoTime();
    IntentDecision decision = classify(classifier, "will it snow this weekend");
    assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(3));
    assertThat(decision.agentId()).isEqualTo("weather");
    assertThat(classifier.failures()).isEqualTo(1);
  }

  @Test
  void anUnreachableServiceFallsBackToo() throws IOException {
    int closedPort;
    try (java.net.ServerSocket socket = new java.net.ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      closedPort = socket.getLocalPort();
    }
    RemoteIntentClassifier classifier = new RemoteIntentClassifier(URI.create("http://127.0.0.1:" + closedPort + "/"),
        Duration.ofSeconds(2), http, POLICY, new LuceneIntentClassifier(POLICY), Clock.systemUTC());
    assertThat(classify(classifier, "book a hotel in Porto").agentId()).isEqualTo("travel");
    assertThat(classifier.failures()).isEqualTo(1);
  }
}
