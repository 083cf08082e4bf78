package io.parley.agent.demo;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import com.typesafe.config.ConfigFactory;
import io.parley.agent.AgentSettings.DemoSettings;
import io.parley.agent.AgentSettings.DispatchSettings;
import io.parley.agent.AgentSettings;
import io.parley.agent.AgentSpec;
import io.parley.agent.RegistrySnapshot;
import io.parley.agent.events.AcceptedEvents;
import io.parley.agent.events.AgentEventRoutes;
import io.parley.agent.events.AgentMessage;
import io.parley.agent.events.AgentReply;
import io.parley.agent.events.HttpAgentDispatcher;
import io.parley.agent.events.RecordingGatewaySink;
import io.parley.agent.events.UnwrappedSecrets;
import io.parley.agent.kms.KeyEncryptionKey;
import io.parley.agent.kms.LocalKeyFileKek;
import io.parley.agent.registry.AgentSecrets;
import io.parley.redis.KeyedHash;
import io.parley.redis.RedisExtension;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.http.javadsl.Http;
import org.apache.pekko.http.javadsl.ServerBinding;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * The demo agents end to end over real HTTP: Parley's dispatcher sends them a message, they reply to
 * Parley's real inbound endpoint (with a recording double of the gateway behind it), and the forwarder
 * streams from a local fake of the OpenAI chat-completions API.
 */
class DemoAgentsTest {
  private static final String ECHO_SECRET = "echo-demo-secret";
  private static final String OPENAI_SECRET = "openai-demo-secret";
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final DispatchSettings SETTINGS = new DispatchSettings(
      Duration.ofSeconds(2), 4, Duration.ofMillis(5), Duration.ofMillis(40), 3, Duration.ofMillis(200),
      65536, Duration.ofMinutes(5), Duration.ofHours(24), Duration.ofMinutes(10));
  /** 30 chunks of 7 characters: 210 characters, at least three partials by size alone. */
  private static final List<String> CHUNKS = java.util.stream.IntStream.range(0, 30)
      .mapToObj(i -> String.format("word%02d ", i)).toList();

  @RegisterExtension
  static final RedisExtension redis = new RedisExtension();

  @TempDir
  static Path dir;

  private static ActorTestKit testKit;
  private static ServerBinding parley;
  private static KeyEncryptionKey kek;
  private static final AtomicReference<RecordingGatewaySink> sink = new AtomicReference<>();
  private static final AtomicReference<RegistrySnapshot> snapshot = new AtomicReference<>(RegistrySnapshot.EMPTY);

  private HttpAgentDispatcher dispatcher;
  private DemoAgents agents;
  private FakeOpenAi openAi;

  @BeforeAll
  static void startParleysInboundEndpoint() throws Exception {
    testKit = ActorTestKit.create("DemoAgentsTest", ConfigFactory.empty());
    kek = LocalKeyFileKek.open(dir.resolve("kek"), true);
    AgentEventRoutes routes = new AgentEventRoutes(testKit.system(), () -> snapshot.get(), new UnwrappedSecrets(kek),
        reply -> sink.get().accept(reply),
        new AcceptedEvents(redis.connection().client(), new KeyedHash(new byte[32])), SETTINGS, Clock.systemUTC());
    parley = Http.get(testKit.system()).newServerAt("127.0.0.1", 0).bind(routes.route())
        .toCompletableFuture().get(10, TimeUnit.SECONDS);
  }

  @AfterAll
  static void stop() {
    parley.unbind();
    testKit.shutdownTestKit();
  }

  @BeforeEach
  void setUp() {
    sink.set(new RecordingGatewaySink());
    openAi = new FakeOpenAi();
    dispatcher = new HttpAgentDispatcher(testKit.system(), SETTINGS, new UnwrappedSecrets(kek), Clock.systemUTC());
  }

  @AfterEach
  void tearDown() {
    dispatcher.close();
    if (agents != null) {
      agents.close();
    }
    openAi.close();
  }

  @Test
  void theEchoAgentAnswersFromItsFaqAfterTypingAndARepeatedMessageIsAnsweredOnce() throws Exception {
    startAgents(Optional.empty());
    AgentMessage message = new AgentMessage("c_1", 1, "u_someone", 1, "How does encryption work?", Instant.now());

    dispatcher.deliver(echo(), message).toCompletableFuture().get(5, TimeUnit.SECONDS);

    await().atMost(Duration.ofSeconds(5)).until(() -> sink.get().replies().size() == 2);
    List<AgentReply> replies = sink.get().replies();
    assertThat(replies.get(0)).isEqualTo(new AgentReply.Typing("echo", "c_1:1:typing", "c_1", true));
    assertThat(replies.get(1)).isInstanceOfSatisfying(AgentReply.Final.class, reply -> {
      assertThat(reply.eventId()).isEqualTo("c_1:1:reply");
      assertThat(reply.conversationId()).isEqualTo("c_1");
      assertThat(reply.text()).contains("end-to-end encrypted");
    });

    // Parley sends the same message again (its 2xx was lost): the agent knows the id and does nothing more
    dispatcher.deliver(echo(), message).toCompletableFuture().get(5, TimeUnit.SECONDS);
    await().during(Duration.ofMillis(300)).atMost(Duration.ofSeconds(2)).until(() -> sink.get().replies().size() == 2);
  }

  @Test
  void theEchoAgentEchoesWhatItHasNoAnswerFor() {
    assertThat(EchoFaqAgent.answer("  the weather in Lisbon ")).isEqualTo("Echo: the weather in Lisbon");
    assertThat(EchoFaqAgent.answer("what is Parley?")).startsWith("Parley is a messaging platform");
    assertThat(EchoFaqAgent.answer("help")).contains("echo agent");
    assertThat(EchoFaqAgent.answer("this history")).isEqualTo("Echo: this history");
  }

  @Test
  void theForwarderStreamsPartialRepliesFromTheModelAndThenTheWholeAnswer() throws Exception {
    startAgents(Optional.of(openAi.baseUrl()));

    dispatcher.deliver(forwarder(), new AgentMessage("c_2", 5, "u_someone", 1, "Tell me a story", Instant.now()))
        .toCompletableFuture().get(5, TimeUnit.SECONDS);

    String whole = String.join("", CHUNKS);
    await().atMost(Duration.ofSeconds(10)).until(() -> sink.get().replies().stream().anyMatch(AgentReply.Final.class::isInstance));
    List<AgentReply> replies = sink.get().replies();
    assertThat(replies.get(0)).isEqualTo(new AgentReply.Typing("openai", "c_2:5:typing", "c_2", true));
    assertThat(replies.get(replies.size() - 1)).isEqualTo(new AgentReply.Final("openai", "c_2:5:reply", "c_2", whole));
    List<AgentReply.Partial> partials = replies.stream()
        .filter(AgentReply.Partial.class::isInstance).map(AgentReply.Partial.class::cast).toList();
    assertThat(partials).hasSizeGreaterThanOrEqualTo(3);
    for (int i = 0; i < partials.size(); i++) {
      assertThat(partials.get(i).eventId()).isEqualTo("c_2:5:partial:" + (i + 1));
      assertThat(whole).startsWith(partials.get(i).text());
      if (i > 0) {
        assertThat(partials.get(i).text().length()).isGreaterThan(partials.get(i - 1).text().length());
      }
    }

    JsonNode request = openAi.requests.get(0);
    assertThat(request.get("model").asText()).isEqualTo("test-model");
    assertThat(request.get("stream").asBoolean()).isTrue();
    assertThat(request.get("messages").get(1).get("content").asText()).isEqualTo("Tell me a story");
    assertThat(openAi.authorizations).containsExactly("Bearer test-key");
  }

  @Test
  void theForwarderSaysWhenItIsNotConfiguredOrTheModelFails() throws Exception {
    startAgents(Optional.empty());
    dispatcher.deliver(forwarder(), new AgentMessage("c_3", 1, "u_someone", 1, "Hello?", Instant.now()))
        .toCompletableFuture().get(5, TimeUnit.SECONDS);
    await().atMost(Duration.ofSeconds(5)).untilAsserted(() -> assertThat(sink.get().replies())
        .filteredOn(AgentReply.Final.class::isInstance).singleElement()
        .satisfies(reply -> assertThat(((AgentReply.Final) reply).text()).contains("not configured")));

    agents.close();
    openAi.failWith(500);
    startAgents(Optional.of(openAi.baseUrl()));
    dispatcher.deliver(forwarder(), new AgentMessage("c_3", 2, "u_someone", 1, "Hello again?", Instant.now()))
        .toCompletableFuture().get(5, TimeUnit.SECONDS);
    await().atMost(Duration.ofSeconds(5)).untilAsserted(() -> assertThat(sink.get().replies())
        .filteredOn(reply -> reply.eventId().equals("c_3:2:reply")).singleElement()
        .satisfies(reply -> assertThat(((AgentReply.Final) reply).text()).contains("status 500")));
  }

  @Test
  void aDemoAgentRefusesEventsNotSignedWithItsSecret() throws Exception {
    startAgents(Optional.empty());
    HttpResponse<String> response = HttpClient.newHttpClient().send(HttpRequest.newBuilder(agents.echoEndpoint())
            .header("ce-specversion", "1.0").header("ce-id", "forged").header("ce-type", "io.parley.message.created")
            .header("ce-source", "/parley").header("ce-parleyconversation", "c_1")
            .header("Content-Type", "application/json")
            .header("X-Parley-Timestamp", Long.toString(Instant.now().getEpochSecond()))
            .header("X-Parley-Signature", "sha256=" + "00".repeat(32))
            .POST(HttpRequest.BodyPublishers.ofString("{\"text\":\"hi\"}")).build(),
        HttpResponse.BodyHandlers.ofString());

    assertThat(response.statusCode()).isEqualTo(401);
    await().during(Duration.ofMillis(200)).atMost(Duration.ofSeconds(1)).until(() -> sink.get().replies().isEmpty());
  }

  @Test
  void theCompletionsUrlAcceptsABaseUrlWithOrWithoutV1() {
    assertThat(OpenAiForwarder.completionsUrl(URI.create("http://localhost:1234")))
        .isEqualTo(URI.create("http://localhost:1234/v1/chat/completions"));
    assertThat(OpenAiForwarder.completionsUrl(URI.create("http://localhost:1234/v1/")))
        .isEqualTo(URI.create("http://localhost:1234/v1/chat/completions"));
  }

  @Test
  void theDemoOptionsComeFromAgentsConfAndTheApiKeyFromTheEnvironmentOnly() {
    DemoSettings settings = AgentSettings.from(ConfigFactory.load()).demo();

    DemoAgents.Options options = DemoAgents.Options.from(settings, URI.create("http://127.0.0.1:8080"), "e", "o",
        java.util.Map.of("PARLEY_OPENAI_API_KEY", "sk-test"));

    assertThat(options.port()).isEqualTo(8090);
    assertThat(options.echo().agentId()).isEqualTo("echo");
    assertThat(options.openAi().agentId()).isEqualTo("openai");
    assertThat(options.openAiService().baseUrl()).isEmpty();
    assertThat(options.openAiService().apiKey()).hasValue("sk-test");
    assertThat(options.openAiService().model()).isEqualTo("gpt-4o-mini");
    assertThat(options.openAiService().toString()).doesNotContain("sk-test");
    assertThat(options.echo().toString()).doesNotContain("e]").contains("echo");
  }

  private void startAgents(Optional<URI> openAiBase) {
    agents = DemoAgents.start(new DemoAgents.Options("127.0.0.1", 0,
        URI.create("http://127.0.0.1:" + parley.localAddress().getPort()),
        new DemoAgents.Identity("echo", ECHO_SECRET), new DemoAgents.Identity("openai", OPENAI_SECRET),
        new DemoAgents.OpenAi(openAiBase, Optional.of("test-key"), "test-model")));
    snapshot.set(new RegistrySnapshot(1, Instant.now(), List.of(echo(), forwarder())));
  }

  private AgentSpec echo() {
    return new AgentSpec("echo", "Echo", Optional.of(agents.echoEndpoint()), "", List.of(),
        AgentSecrets.seal(kek, "echo", ECHO_SECRET), true, AgentSpec.Source.BUILT_IN, "u_echo");
  }

  private AgentSpec forwarder() {
    return new AgentSpec("openai", "OpenAI", Optional.of(agents.openAiEndpoint()), "", List.of(),
        AgentSecrets.seal(kek, "openai", OPENAI_SECRET), true, AgentSpec.Source.BUILT_IN, "u_openai");
  }

  /** A local fake of the chat-completions API: streams {@link #CHUNKS} as server-sent events. */
  private static final class FakeOpenAi implements AutoCloseable {
    final List<JsonNode> requests = new CopyOnWriteArrayList<>();
    final List<String> authorizations = new CopyOnWriteArrayList<>();
    private final HttpServer server;
    private volatile int failure;

    FakeOpenAi() {
      try {
        server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 16);
      } catch (IOException e) {
        throw new IllegalStateException(e);
      }
      server.createContext("/v1/chat/completions", this::complete);
      server.start();
    }

    URI baseUrl() {
      return URI.create("http://127.0.0.1:" + server.getAddress().getPort());
    }

    void failWith(int status) {
      failure = status;
    }

    private void complete(HttpExchange exchange) throws IOException {
      try (exchange) {
        requests.add(JSON.readTree(exchange.getRequestBody().readAllBytes()));
        authorizations.add(exchange.getRequestHeaders().getFirst("Authorization"));
        if (failure != 0) {
          exchange.sendResponseHeaders(failure, -1);
          return;
        }
        exchange.getResponseHeaders().set("Content-Type", "text/event-stream");
        exchange.sendResponseHeaders(200, 0);
        OutputStream out = exchange.getResponseBody();
        out.write(": keep-alive\n\n".getBytes(StandardCharsets.UTF_8));
        for (String chunk : CHUNKS) {
          String event = JSON.writeValueAsString(JSON.createObjectNode().put("object", "chat.completion.chunk")
              .set("choices", JSON.createArrayNode().add(JSON.createObjectNode().put("index", 0)
                  .set("delta", JSON.createObjectNode().put("content", chunk)))));
          out.write(("data: " + event + "\n\n").getBytes(StandardCharsets.UTF_8));
          out.flush();
        }
        out.write("data: [DONE]\n\n".getBytes(StandardCharsets.UTF_8));
      }
    }

    @Override
    public void close() {
      server.stop(0);
    }
  }
}
