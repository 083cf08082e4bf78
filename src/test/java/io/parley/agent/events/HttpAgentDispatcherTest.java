package io.parley.agent.events;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.typesafe.config.ConfigFactory;
import io.cloudevents.CloudEvent;
import io.cloudevents.http.HttpMessageFactory;
import io.parley.agent.AgentSettings.DispatchSettings;
import io.parley.agent.AgentSpec;
import io.parley.agent.events.AgentDispatcher.AgentRejectedException;
import io.parley.agent.kms.KeyEncryptionKey;
import io.parley.agent.kms.LocalKeyFileKek;
import io.parley.agent.registry.AgentSecrets;
import io.parley.testing.NodeProcess;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** CloudEvents out, against agent services on real sockets: retries, timeouts, the breaker, the limit per agent. */
class HttpAgentDispatcherTest {
  private static final String SECRET = "weather-agent-secret";
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final DispatchSettings SETTINGS = new DispatchSettings(
      Duration.ofMillis(300), 3, Duration.ofMillis(5), Duration.ofMillis(40), 3, Duration.ofMillis(200),
      65536, Duration.ofMinutes(5), Duration.ofHours(24), Duration.ofMinutes(10));

  private static ActorTestKit testKit;

  @TempDir
  Path dir;

  private KeyEncryptionKey kek;
  private HttpAgentDispatcher dispatcher;
  private final List<AutoCloseable> closeables = new ArrayList<>();
  private final List<String> availability = new CopyOnWriteArrayList<>();

  @BeforeAll
  static void startSystem() {
    testKit = ActorTestKit.create("HttpAgentDispatcherTest", ConfigFactory.empty());
  }

  @AfterAll
  static void stopSystem() {
    testKit.shutdownTestKit();
  }

  @BeforeEach
  void setUp() {
    kek = LocalKeyFileKek.open(dir.resolve("kek"), true);
    dispatcher = new HttpAgentDispatcher(testKit.system(), SETTINGS, new UnwrappedSecrets(kek), Clock.systemUTC());
    dispatcher.onAvailabilityChange((agentId, available) -> availability.add(agentId + "=" + available));
  }

  @AfterEach
  void tearDown() throws Exception {
    dispatcher.close();
    for (AutoCloseable closeable : closeables) {
      closeable.close();
    }
  }

  @Test
  void aMessageIsASignedBinaryModeCloudEventWhoseIdStaysTheSameAcrossRetries() throws Exception {
    AtomicInteger calls = new AtomicInteger();
    TestAgentServer agent = agent(TestAgentServer.start(request -> calls.incrementAndGet() < 3 ? 503 : 202));
    AgentMessage message = new AgentMessage("c_abc", 7, "u_sender", 2, "hello, agent",
        Instant.parse("2025-01-02T03:04:05Z"));

    dispatcher.deliver(spec("weather", agent.uri()), message).toCompletableFuture().get(5, TimeUnit.SECONDS);

    List<TestAgentServer.Received> received = agent.received();
    assertThat(received).hasSize(3);
    for (TestAgentServer.Received request : received) {
      assertThat(request.header("ce-specversion")).isEqualTo("1.0");
      assertThat(request.header("ce-id")).isEqualTo("c_abc:7");
      assertThat(request.header("ce-type")).isEqualTo("io.parley.message.created");
      assertThat(request.header("ce-source")).isEqualTo("/parley");
      assertThat(request.header("ce-subject")).isEqualTo("c_abc");
      assertThat(request.header("ce-time")).isEqualTo("2025-01-02T03:04:05Z");
      assertThat(request.header("ce-parleyconversation")).isEqualTo("c_abc");
      assertThat(request.header("ce-parleyseq")).isEqualTo("7");
      assertThat(request.header("ce-parleysender")).isEqualTo("u_sender");
      assertThat(request.header("content-type")).isEqualTo("application/json");
      assertThat(JSON.readTree(request.body()).get("text").asText()).isEqualTo("hello, agent");

      // what an agent author computes from docs/agents.md, independently of Parley's own code
      String timestamp = request.header("x-parley-timestamp");
      assertThat(Math.abs(Long.parseLong(timestamp) - Instant.now().getEpochSecond())).isLessThan(60);
      assertThat(request.header("x-parley-signature")).isEqualTo("sha256=" + hmacHex(SECRET, timestamp, request.body()));

      CloudEvent event = HttpMessageFactory.createReader(request.headers(), request.body()).toEvent();
      assertThat(event.getId()).isEqualTo("c_abc:7");
      assertThat(event.getExtension("parleyseq")).hasToString("7");
    }
  }

  @Test
  void anAgentThatIsDownGetsTheMessageWhenItComesBackAndListenersHearBoth() throws Exception {
    int port = NodeProcess.freePort();
    AgentSpec weather = spec("weather", URI.create("http://127.0.0.1:" + port + "/agent"));

    CompletableFuture<Void> done = dispatcher.deliver(weather, message("c_down", 1)).toCompletableFuture();

    await().atMost(Duration.ofSeconds(5)).until(() -> availability.contains("weather=false"));
    assertThat(dispatcher.isAvailable("weather")).isFalse();
    assertThat(done).isNotDone();

    TestAgentServer agent = agent(TestAgentServer.startOn(port, request -> 200));
    done.get(5, TimeUnit.SECONDS);
    assertThat(agent.received()).extracting(r -> r.header("ce-id")).containsOnly("c_down:1");
    await().atMost(Duration.ofSeconds(5)).until(() -> dispatcher.isAvailable("weather"));
    // a trial call may have failed before the agent came up, opening the circuit again: false first, true last
    assertThat(availability).first().isEqualTo("weather=false");
    assertThat(availability).last().isEqualTo("weather=true");
    assertThat(availability).containsOnlyOnce("weather=true");
  }

  @Test
  void aSlowAgentTimesOutAndTheMessageIsSentAgain() throws Exception {
    CountDownLatch slowOneMayAnswer = new CountDownLatch(1);
    AtomicInteger calls = new AtomicInteger();
    TestAgentServer agent = agent(TestAgentServer.start(request -> {
      if (calls.incrementAndGet() == 1) {
        awaitQuietly(slowOneMayAnswer);
      }
      return 200;
    }));
    closeables.add(slowOneMayAnswer::countDown);

    long started = System.nanoTime();
    dispatcher.deliver(spec("slow", agent.uri()), message("c_slow", 4)).toCompletableFuture().get(5, TimeUnit.SECONDS);

    assertThat(Duration.ofNanos(System.nanoTime() - started)).isGreaterThanOrEqualTo(SETTINGS.timeout());
    assertThat(agent.received()).hasSize(2).extracting(r -> r.header("ce-id")).containsOnly("c_slow:4");
  }

  @Test
  void aFlappingAgentGetsEveryMessageAndAcceptsEachIdExactlyOnce() {
    AtomicInteger calls = new AtomicInteger();
    Map<String, AtomicInteger> acceptedById = new ConcurrentHashMap<>();
    TestAgentServer agent = agent(TestAgentServer.start(request -> {
      if (calls.incrementAndGet() % 2 == 1) {
        return 503;
      }
      // the agent's own dedup: a second 2xx for one id would mean the dispatcher sent it again after success
      acceptedById.computeIfAbsent(request.header("ce-id"), id -> new AtomicInteger()).incrementAndGet();
      return 200;
    }));
    AgentSpec flapping = spec("flapping", agent.uri());

    List<CompletableFuture<Void>> deliveries = new ArrayList<>();
    for (int seq = 1; seq <= 20; seq++) {
      deliveries.add(dispatcher.deliver(flapping, message("c_flap", seq)).toCompletableFuture());
    }

    CompletableFuture.allOf(deliveries.toArray(CompletableFuture[]::new)).orTimeout(15, TimeUnit.SECONDS).join();
    assertThat(acceptedById.keySet()).hasSize(20);
    assertThat(acceptedById.values()).allSatisfy(count -> assertThat(count.get()).isEqualTo(1));
    assertThat(agent.received().size()).isGreaterThanOrEqualTo(40);
  }

  @Test
  void noMoreThanTheLimitAreInFlightToOneAgentAndTheRestWait() {
    CountDownLatch release = new CountDownLatch(1);
    closeables.add(release::countDown);
    TestAgentServer agent = agent(TestAgentServer.start(request -> {
      awaitQuietly(release);
      return 200;
    }));
    AgentSpec busy = spec("busy", agent.uri());
    // a timeout well above the test's waits: this test is about waiting for a place, not about retries
    HttpAgentDispatcher patient = new HttpAgentDispatcher(testKit.system(), new DispatchSettings(
        Duration.ofSeconds(10), 3, Duration.ofMillis(5), Duration.ofMillis(40), 3, Duration.ofMillis(200),
        65536, Duration.ofMinutes(5), Duration.ofHours(24), Duration.ofMinutes(10)),
        new UnwrappedSecrets(kek), Clock.systemUTC());
    closeables.add(patient::close);

    List<CompletableFuture<Void>> deliveries = new ArrayList<>();
    for (int seq = 1; seq <= 12; seq++) {
      deliveries.add(patient.deliver(busy, message("c_busy", seq)).toCompletableFuture());
    }

    await().atMost(Duration.ofSeconds(5)).until(() -> agent.inFlight() == 3);
    await().during(Duration.ofMillis(300)).atMost(Duration.ofSeconds(2)).until(() -> agent.received().size() == 3);
    assertThat(deliveries).filteredOn(CompletableFuture::isDone).isEmpty();

    release.countDown();
    CompletableFuture.allOf(deliveries.toArray(CompletableFuture[]::new)).orTimeout(10, TimeUnit.SECONDS).join();
    assertThat(agent.maxInFlight()).isEqualTo(3);
    assertThat(agent.received()).hasSize(12);
    assertThat(agent.received()).extracting(r -> r.header("ce-id")).doesNotHaveDuplicates();
  }

  @Test
  void aClientErrorIsTheAgentRefusingTheEventAndIsNotRetried() {
    TestAgentServer agent = agent(TestAgentServer.start(request -> 400));

    CompletableFuture<Void> done = dispatcher.deliver(spec("picky", agent.uri()), message("c_bad", 1)).toCompletableFuture();

    assertThat(done).failsWithin(Duration.ofSeconds(5))
        .withThrowableOfType(ExecutionException.class)
        .havingCause()
        .isInstanceOfSatisfying(AgentRejectedException.class, e -> assertThat(e.status()).isEqualTo(400));
    assertThat(agent.received()).hasSize(1);
    assertThat(dispatcher.isAvailable("picky")).isTrue();
  }

  @Test
  void tooManyRequestsAndRequestTimeoutAreRetried() throws Exception {
    AtomicInteger calls = new AtomicInteger();
    TestAgentServer agent = agent(TestAgentServer.start(request -> switch (calls.incrementAndGet()) {
      case 1 -> 429;
      case 2 -> 408;
      default -> 204;
    }));

    dispatcher.deliver(spec("busy", agent.uri()), message("c_429", 1)).toCompletableFuture().get(5, TimeUnit.SECONDS);

    assertThat(agent.received()).hasSize(3);
  }

  @Test
  void aSecretSealedForAnotherAgentFailsTheDeliveryWithoutCallingAnyone() {
    TestAgentServer agent = agent(TestAgentServer.start(request -> 200));
    AgentSpec stolen = new AgentSpec("thief", "Thief", Optional.of(agent.uri()), "", List.of(),
        AgentSecrets.seal(kek, "weather", SECRET), true, AgentSpec.Source.ADMIN, "u_thief");

    CompletableFuture<Void> done = dispatcher.deliver(stolen, message("c_x", 1)).toCompletableFuture();

    assertThat(done).failsWithin(Duration.ofSeconds(1)).withThrowableOfType(ExecutionException.class)
        .havingCause().isInstanceOf(KeyEncryptionKey.KeyUnwrapException.class);
    assertThat(agent.received()).isEmpty();
  }

  private TestAgentServer agent(TestAgentServer server) {
    closeables.add(server);
    return server;
  }

  private AgentSpec spec(String id, URI endpoint) {
    return new AgentSpec(id, id, Optional.of(endpoint), "", List.of(), AgentSecrets.seal(kek, id, SECRET), true,
        AgentSpec.Source.ADMIN, "u_" + id);
  }

  private static AgentMessage message(String conversationId, long seq) {
    return new AgentMessage(conversationId, seq, "u_sender", 1, "message " + seq, Instant.now());
  }

  private static String hmacHex(String secret, String timestamp, byte[] body) throws Exception {
    Mac mac = Mac.getInstance("HmacSHA256");
    mac.init(new SecretKeySpec(secret.getBytes(StandardCharsets.UTF_8), "HmacSHA256"));
    mac.update((timestamp + ".").getBytes(StandardCharsets.UTF_8));
    return HexFormat.of().formatHex(mac.doFinal(body));
  }

  private static void awaitQuietly(CountDownLatch latch) {
    try {
      latch.await(20, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
