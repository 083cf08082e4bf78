package io.parley.agent.events;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.typesafe.config.ConfigFactory;
import io.cloudevents.CloudEvent;
import io.cloudevents.core.builder.CloudEventBuilder;
import io.cloudevents.http.HttpMessageFactory;
import io.cloudevents.jackson.JsonFormat;
import io.parley.agent.AgentSettings.DispatchSettings;
import io.parley.agent.AgentSpec;
import io.parley.agent.RegistrySnapshot;
import io.parley.agent.events.AgentReplySink.Outcome;
import io.parley.agent.kms.KeyEncryptionKey;
import io.parley.agent.kms.LocalKeyFileKek;
import io.parley.agent.registry.AgentSecrets;
import io.parley.redis.KeyedHash;
import io.parley.redis.RedisExtension;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.http.javadsl.Http;
import org.apache.pekko.http.javadsl.ServerBinding;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/** CloudEvents in over real HTTP, with the accepted ids in a real Redis and a recording double of the gateway. */
class AgentEventRoutesTest {
  private static final String SECRET = "weather-secret-123";
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final DispatchSettings SETTINGS = new DispatchSettings(
      Duration.ofSeconds(1), 4, Duration.ofMillis(5), Duration.ofMillis(40), 3, Duration.ofMillis(200),
      2048, Duration.ofMinutes(5), Duration.ofHours(24), Duration.ofMinutes(10));

  @RegisterExtension
  static final RedisExtension redis = new RedisExtension();

  @TempDir
  static Path dir;

  private static ActorTestKit testKit;
  private static ServerBinding binding;
  private static KeyEncryptionKey kek;
  private static final AtomicReference<RegistrySnapshot> snapshot = new AtomicReference<>(RegistrySnapshot.EMPTY);
  private static final AtomicReference<RecordingGatewaySink> sink = new AtomicReference<>();
  private static final HttpClient http = HttpClient.newHttpClient();

  @BeforeAll
  static void start() throws Exception {
    testKit = ActorTestKit.create("AgentEventRoutesTest", ConfigFactory.empty());
    kek = LocalKeyFileKek.open(dir.resolve("kek"), true);
    AgentReplySink delegating = reply -> sink.get().accept(reply);
    AgentEventRoutes routes = new AgentEventRoutes(testKit.system(), () -> snapshot.get(), new UnwrappedSecrets(kek),
        delegating, new AcceptedEvents(redis.connection().client(), new KeyedHash(new byte[32])), SETTINGS,
        Clock.systemUTC());
    binding = Http.get(testKit.system()).newServerAt("127.0.0.1", 0).bind(routes.route())
        .toCompletableFuture().get(10, TimeUnit.SECONDS);
  }

  @AfterAll
  static void stop() {
    binding.unbind();
    testKit.shutdownTestKit();
  }

  @BeforeEach
  void reset() {
    sink.set(new RecordingGatewaySink());
    snapshot.set(new RegistrySnapshot(1, Instant.now(), List.of(
        agent("weather", SECRET, true), agent("sleepy", "sleepy-secret", false))));
  }

  @Test
  void aBinaryModeReplyWithTheBearerSecretIsHandedToTheGateway() throws Exception {
    HttpResponse<String> response = send("weather", binary(reply("r-1", ParleyEvents.REPLY_MESSAGE, "{\"text\":\"Sunny\"}")),
        bearer(SECRET));

    assertThat(response.statusCode()).isEqualTo(202);
    assertThat(JSON.readTree(response.body()).get("accepted").asBoolean()).isTrue();
    assertThat(sink.get().replies()).containsExactly(new AgentReply.Final("weather", "r-1", "c_42", "Sunny"));
  }

  @Test
  void aStructuredModeReplySignedWithTheSecretIsHandedToTheGateway() throws Exception {
    Request request = structured(reply("r-2", ParleyEvents.REPLY_MESSAGE, "{\"text\":\"Rain later\"}"));

    HttpResponse<String> response = send("weather", request, signed(SECRET, Instant.now(), request.body()));

    assertThat(response.statusCode()).isEqualTo(202);
    assertThat(sink.get().replies()).containsExactly(new AgentReply.Final("weather", "r-2", "c_42", "Rain later"));
  }

  @Test
  void partialAndTypingEventsReachTheGateway() throws Exception {
    assertThat(send("weather", binary(reply("t-1", ParleyEvents.REPLY_TYPING, "{\"active\":true}")), bearer(SECRET))
        .statusCode()).isEqualTo(202);
    Request partial = binary(reply("p-1", ParleyEvents.REPLY_PARTIAL, "{\"text\":\"Sun\"}"));
    assertThat(send("weather", partial, signed(SECRET, Instant.now(), partial.body())).statusCode()).isEqualTo(202);

    assertThat(sink.get().replies()).containsExactly(
        new AgentReply.Typing("weather", "t-1", "c_42", true),
        new AgentReply.Partial("weather", "p-1", "c_42", "Sun"));
  }

  @Test
  void theSameIdAgainIsADuplicateThatNeverReachesTheGatewayAndRedisHoldsNoIdInClear() throws Exception {
    Request request = binary(reply("r-dup", ParleyEvents.REPLY_MESSAGE, "{\"text\":\"Once\"}"));

    assertThat(send("weather", request, bearer(SECRET)).statusCode()).isEqualTo(202);
    HttpResponse<String> again = send("weather", request, bearer(SECRET));

    assertThat(again.statusCode()).isEqualTo(200);
    assertThat(JSON.readTree(again.body()).get("duplicate").asBoolean()).isTrue();
    assertThat(sink.get().replies()).hasSize(1);
    List<String> keys = redis.connection().client().getKeys().getKeysStream().toList();
    assertThat(keys).hasSize(1).allSatisfy(key -> assertThat(key)
        .startsWith("parley:agent-event:").doesNotContain("r-dup").doesNotContain("weather"));
    long ttl = redis.connection().client().getBucket(keys.get(0)).remainTimeToLive();
    assertThat(Duration.ofMillis(ttl)).isBetween(Duration.ofHours(23), Duration.ofHours(24));
  }

  @Test
  void anotherAgentMayUseTheSameIdWithoutBeingTakenForADuplicate() throws Exception {
    snapshot.set(new RegistrySnapshot(2, Instant.now(), List.of(
        agent("weather", SECRET, true), agent("news", "news-secret", true))));
    Request request = binary(reply("r-same", ParleyEvents.REPLY_MESSAGE, "{\"text\":\"Hi\"}"));

    assertThat(send("weather", request, bearer(SECRET)).statusCode()).isEqualTo(202);
    assertThat(send("news", request, bearer("news-secret")).statusCode()).isEqualTo(202);
    assertThat(sink.get().replies()).extracting(AgentReply::agentId).containsExactly("weather", "news");
  }

  @Test
  void aDuplicateTheGatewayRecognisesIsAnsweredAsOneAndRemembered() throws Exception {
    sink.get().answer(Outcome.DUPLICATE);
    Request request = binary(reply("r-known", ParleyEvents.REPLY_MESSAGE, "{\"text\":\"Known\"}"));

    HttpResponse<String> response = send("weather", request, bearer(SECRET));
    send("weather", request, bearer(SECRET));

    assertThat(response.statusCode()).isEqualTo(200);
    assertThat(JSON.readTree(response.body()).get("duplicate").asBoolean()).isTrue();
    assertThat(sink.get().replies()).hasSize(1);
  }

  @Test
  void forgedStaleOrMissingCredentialsAndUnknownOrDisabledAgentsAreAllJustUnauthenticated() throws Exception {
    Request request = binary(reply("r-forged", ParleyEvents.REPLY_MESSAGE, "{\"text\":\"Trust me\"}"));
    Request tampered = new Request(request.headers(), "{\"text\":\"Tampered\"}".getBytes(StandardCharsets.UTF_8));
    Map<String, Map<String, String>> attempts = new LinkedHashMap<>();
    attempts.put("wrong bearer", bearer("not-the-secret"));
    attempts.put("forged signature", signed("not-the-secret", Instant.now(), request.body()));
    attempts.put("stale signature", signed(SECRET, Instant.now().minus(Duration.ofMinutes(6)), request.body()));
    attempts.put("future signature", signed(SECRET, Instant.now().plus(Duration.ofMinutes(6)), request.body()));
    attempts.put("signature without timestamp", Map.of(ParleyEvents.HEADER_SIGNATURE,
        signed(SECRET, Instant.now(), request.body()).get(ParleyEvents.HEADER_SIGNATURE)));
    attempts.put("nothing", Map.of());

    for (var attempt : attempts.entrySet()) {
      assertUnauthenticated(send("weather", request, attempt.getValue()), attempt.getKey());
    }
    assertUnauthenticated(send("weather", tampered, signed(SECRET, Instant.now(), request.body())), "tampered body");
    assertUnauthenticated(send("nobody", request, bearer(SECRET)), "unknown agent");
    assertUnauthenticated(send("sleepy", request, bearer("sleepy-secret")), "disabled agent");
    assertThat(sink.get().replies()).isEmpty();
  }

  @Test
  void aBodyOverTheLimitIsRefusedAsTooLarge() throws Exception {
    String big = "x".repeat(4096);
    HttpResponse<String> response = send("weather",
        binary(reply("r-big", ParleyEvents.REPLY_MESSAGE, "{\"text\":\"" + big + "\"}")), bearer(SECRET));

    assertThat(response.statusCode()).isEqualTo(413);
    assertThat(JSON.readTree(response.body()).get("error").asText()).isEqualTo("too_large");
    assertThat(sink.get().replies()).isEmpty();
  }

  @Test
  void malformedEventsAreRefusedWithAClearMessage() throws Exception {
    Request notACloudEvent = new Request(Map.of("Content-Type", "application/json"),
        "{\"text\":\"hi\"}".getBytes(StandardCharsets.UTF_8));
    assertBadRequest(send("weather", notACloudEvent, bearer(SECRET)), "malformed", "CloudEvent");

    CloudEvent noConversation = CloudEventBuilder.v1(reply("r-x", ParleyEvents.REPLY_MESSAGE, "{\"text\":\"hi\"}"))
        .withoutExtension(ParleyEvents.EXT_CONVERSATION).build();
    assertBadRequest(send("weather", binary(noConversation), bearer(SECRET)), "malformed", "parleyconversation");

    assertBadRequest(send("weather", binary(reply("r-y", "com.example.weird", "{\"text\":\"hi\"}")), bearer(SECRET)),
        "unknown_type", "com.example.weird");
    assertBadRequest(send("weather", binary(reply("r-z", ParleyEvents.REPLY_TYPING, "{\"active\":\"yes\"}")),
        bearer(SECRET)), "malformed", "active");
    assertBadRequest(send("weather", binary(reply("r-w", ParleyEvents.REPLY_MESSAGE, "{\"text\":\"  \"}")),
        bearer(SECRET)), "malformed", "text");
    assertBadRequest(send("weather", binary(reply("r-v", ParleyEvents.REPLY_MESSAGE, "not json")), bearer(SECRET)),
        "malformed", "JSON");
    assertThat(sink.get().replies()).isEmpty();
  }

  @Test
  void aReplyToAConversationTheAgentIsNotInIsForbidden() throws Exception {
    sink.get().answer(Outcome.NOT_IN_CONVERSATION);

    HttpResponse<String> response = send("weather",
        binary(reply("r-elsewhere", ParleyEvents.REPLY_MESSAGE, "{\"text\":\"Hi\"}")), bearer(SECRET));

    assertThat(response.statusCode()).isEqualTo(403);
    assertThat(JSON.readTree(response.body()).get("error").asText()).isEqualTo("not_in_conversation");
  }

  @Test
  void whenTheGatewayCannotTakeItTheAgentIsToldToRetryAndTheRetryIsAccepted() throws Exception {
    sink.get().answer(Outcome.UNAVAILABLE);
    Request request = binary(reply("r-later", ParleyEvents.REPLY_MESSAGE, "{\"text\":\"Later\"}"));

    HttpResponse<String> first = send("weather", request, bearer(SECRET));
    assertThat(first.statusCode()).isEqualTo(503);
    assertThat(first.headers().firstValue("Retry-After")).hasValue("5");

    sink.get().answer(Outcome.ACCEPTED);
    assertThat(send("weather", request, bearer(SECRET)).statusCode()).isEqualTo(202);
    assertThat(sink.get().replies()).hasSize(2);
  }

  @Test
  void aGatewayFailureIsUnavailableToTheAgentAndNothingIsRemembered() throws Exception {
    sink.get().failWith(new IllegalStateException("conversation shard unreachable"));
    Request request = binary(reply("r-fail", ParleyEvents.REPLY_MESSAGE, "{\"text\":\"Eventually\"}"));

    HttpResponse<String> first = send("weather", request, bearer(SECRET));
    assertThat(first.statusCode()).isEqualTo(503);
    assertThat(first.body()).doesNotContain("shard");
    assertThat(redis.connection().client().getKeys().count()).isZero();

    sink.get().failWith(null);
    assertThat(send("weather", request, bearer(SECRET)).statusCode()).isEqualTo(202);
  }

  private static void assertUnauthenticated(HttpResponse<String> response, String what) throws Exception {
    assertThat(response.statusCode()).as(what).isEqualTo(401);
    assertThat(JSON.readTree(response.body())).as(what).isEqualTo(JSON.readTree("{\"error\":\"unauthenticated\"}"));
  }

  private static void assertBadRequest(HttpResponse<String> response, String error, String mentioned) throws Exception {
    assertThat(response.statusCode()).isEqualTo(400);
    JsonNode body = JSON.readTree(response.body());
    assertThat(body.get("error").asText()).isEqualTo(error);
    assertThat(body.get("message").asText()).contains(mentioned);
  }

  private static AgentSpec agent(String id, String secret, boolean enabled) {
    return new AgentSpec(id, id, Optional.of(URI.create("http://127.0.0.1:1/" + id)), "", List.of(),
        AgentSecrets.seal(kek, id, secret), enabled, AgentSpec.Source.ADMIN, "u_" + id);
  }

  private static CloudEvent reply(String id, String type, String data) {
    return CloudEventBuilder.v1()
        .withId(id)
        .withType(type)
        .withSource(URI.create("/agents/weather"))
        .withExtension(ParleyEvents.EXT_CONVERSATION, "c_42")
        .withData("application/json", data.getBytes(StandardCharsets.UTF_8))
        .build();
  }

  record Request(Map<String, String> headers, byte[] body) {}

  private static Request binary(CloudEvent event) {
    Map<String, String> headers = new LinkedHashMap<>();
    byte[][] body = new byte[1][];
    HttpMessageFactory.createWriter(headers::put, bytes -> body[0] = bytes).writeBinary(event);
    return new Request(headers, body[0]);
  }

  private static Request structured(CloudEvent event) {
    Map<String, String> headers = new LinkedHashMap<>();
    byte[][] body = new byte[1][];
    HttpMessageFactory.createWriter(headers::put, bytes -> body[0] = bytes).writeStructured(event, new JsonFormat());
    return new Request(headers, body[0]);
  }

  private static Map<String, String> bearer(String secret) {
    return Map.of("Authorization", "Bearer " + secret);
  }

  private static Map<String, String> signed(String secret, Instant at, byte[] body) {
    long timestamp = at.getEpochSecond();
    return Map.of(ParleyEvents.HEADER_TIMESTAMP, Long.toString(timestamp),
        ParleyEvents.HEADER_SIGNATURE, EventSignature.sign(secret.getBytes(StandardCharsets.UTF_8), timestamp, body));
  }

  private static HttpResponse<String> send(String agentId, Request request, Map<String, String> auth) throws Exception {
    HttpRequest.Builder builder = HttpRequest.newBuilder(URI.create("http://127.0.0.1:"
            + binding.localAddress().getPort() + "/v1/agents/" + agentId + "/events"))
        .POST(HttpRequest.BodyPublishers.ofByteArray(request.body()));
    request.headers().forEach(builder::header);
    auth.forEach(builder::header);
    return http.send(builder.build(), HttpResponse.BodyHandlers.ofString());
  }
}
