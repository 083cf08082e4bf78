package io.parley.agent.registry;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.mongodb.client.MongoClient;
import com.mongodb.client.MongoClients;
import com.mongodb.client.MongoDatabase;
import com.nimbusds.jose.jwk.RSAKey;
import com.nimbusds.jwt.JWTClaimsSet;
import com.typesafe.config.ConfigFactory;
import de.bwaldvogel.mongo.MongoServer;
import de.bwaldvogel.mongo.backend.memory.MemoryBackend;
import io.parley.admin.AdminCredentials;
import io.parley.agent.AgentAccounts;
import io.parley.agent.AgentSpec;
import io.parley.agent.RegistrySnapshot;
import io.parley.agent.kms.LocalKeyFileKek;
import io.parley.auth.TestKeys;
import io.parley.auth.TokenVerifier;
import io.parley.config.ParleySettings.AuthSettings;
import io.parley.config.ParleySettings.VerifiedTokenCache;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Date;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.http.javadsl.Http;
import org.apache.pekko.http.javadsl.ServerBinding;
import org.bson.Document;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The admin API and the users' agent list over real HTTP, against the MongoDB-wire server. */
class AgentRoutesTest {
  private static final String ADMIN_TOKEN = "admin-token-for-the-agent-routes-test";
  private static final String SECRET = "s3cr3t-Agent-Shared-Secret-0123456789";
  private static final byte[] PEPPER = "0123456789abcdef0123456789abcdef".getBytes(StandardCharsets.UTF_8);
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final HttpClient HTTP = HttpClient.newHttpClient();

  @TempDir static Path dir;
  private static MongoServer mongo;
  private static MongoClient client;
  private static MongoDatabase db;
  private static ActorSystem<Void> system;
  private static ServerBinding binding;
  private static LocalKeyFileKek kek;
  private static RSAKey userKey;
  private static final LocalRoutingTable table = new LocalRoutingTable();
  private static final AtomicInteger refreshes = new AtomicInteger();
  private static final AgentAccounts accounts = new AgentAccounts(PEPPER);

  @BeforeAll
  static void start() throws Exception {
    mongo = new MongoServer(new MemoryBackend());
    mongo.bind("127.0.0.1", 0);
    client = MongoClients.create("mongodb://127.0.0.1:" + mongo.getLocalAddress().getPort());
    db = client.getDatabase("parley");
    kek = LocalKeyFileKek.open(dir.resolve("agent-kek"), true);
    system = ActorSystem.create(Behaviors.empty(), "agent-routes",
        ConfigFactory.parseString("pekko.actor.provider = local").withFallback(ConfigFactory.load()));
    userKey = TestKeys.rsa("user-key");
    String pem = TestKeys.pem(userKey.toPublicKey());
    TokenVerifier verifier = TokenVerifier.create(new AuthSettings("https://id.parley.test", "parley", "", pem,
        Duration.ofSeconds(30), false, Duration.ofHours(1), "",
        new VerifiedTokenCache(1000, Duration.ofMinutes(10))), Clock.systemUTC(), Optional.empty());

    AgentStore store = new AgentStore(db, kek, accounts, Clock.systemUTC());
    List<AgentSpec> builtIns = List.of(frontDoor());
    AgentAdminRoutes admin = new AgentAdminRoutes(system, AdminCredentials.of(ADMIN_TOKEN), store, table,
        refreshes::incrementAndGet, () -> builtIns);
    AgentDirectoryRoutes users = new AgentDirectoryRoutes(verifier, table, "assistant");
    binding = Http.get(system).newServerAt("127.0.0.1", 0).bind(admin.concat(admin.route(), users.route()))
        .toCompletableFuture().get();
  }

  @AfterAll
  static void stop() {
    system.terminate();
    system.getWhenTerminated().toCompletableFuture().join();
    client.close();
    mongo.shutdownNow();
  }

  @BeforeEach
  void clean() {
    db.getCollection(AgentStore.COLLECTION).drop();
  }

  @Test
  void theAdminApiWantsTheAdminToken() throws Exception {
    assertThat(send("GET", "/v1/admin/agents", null, null).statusCode()).isEqualTo(401);
    HttpResponse<String> wrong = send("GET", "/v1/admin/agents", "not-the-admin-token", null);
    assertThat(wrong.statusCode()).isEqualTo(401);
    assertThat(wrong.body()).contains("token_invalid");
    assertThat(send("PUT", "/v1/admin/agents/weather", "not-the-admin-token", agentBody(SECRET)).statusCode())
        .isEqualTo(401);
    assertThat(send("GET", "/v1/admin/agents", ADMIN_TOKEN, null).statusCode()).isEqualTo(200);
    assertThat(db.getCollection(AgentStore.COLLECTION).countDocuments()).isZero();
  }

  @Test
  void noAdminTokenConfiguredRefusesEveryone() throws Exception {
    AgentAdminRoutes closed = new AgentAdminRoutes(system, AdminCredentials.of(""),
        new AgentStore(db, kek, accounts, Clock.systemUTC()), table, () -> {}, List::of);
    ServerBinding other = Http.get(system).newServerAt("127.0.0.1", 0).bind(closed.route()).toCompletableFuture().get();
    try {
      HttpResponse<String> response = HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:"
              + other.localAddress().getPort() + "/v1/admin/agents")).header("Authorization", "Bearer anything").build(),
          HttpResponse.BodyHandlers.ofString());
      assertThat(response.statusCode()).isEqualTo(403);
      assertThat(response.body()).contains("admin_disabled");
    } finally {
      other.unbind().toCompletableFuture().get();
    }
  }

  @Test
  void registersShowsListsUpdatesAndDeletesWithARefreshEachChange() throws Exception {
    int before = refreshes.get();
    HttpResponse<String> created = send("PUT", "/v1/admin/agents/weather", ADMIN_TOKEN, agentBody(SECRET));
    assertThat(created.statusCode()).isEqualTo(201);
    JsonNode agent = JSON.readTree(created.body());
    assertThat(agent.path("id").asText()).isEqualTo("weather");
    assertThat(agent.path("endpoint").asText()).isEqualTo("https://weather.example/events");
    assertThat(agent.path("examples")).hasSize(2);
    assertThat(agent.path("accountId").asText()).isEqualTo(accounts.accountIdOf("weather"));
    assertThat(refreshes.get()).isEqualTo(before + 1);

    // an update without a secret keeps the stored one
    String update = "{\"displayName\":\"Weather 2\",\"endpoint\":\"http://weather.internal:8080/\",\"enabled\":false}";
    HttpResponse<String> updated = send("PUT", "/v1/admin/agents/weather", ADMIN_TOKEN, update);
    assertThat(updated.statusCode()).isEqualTo(200);
    assertThat(JSON.readTree(updated.body()).path("enabled").asBoolean()).isFalse();
    assertThat(refreshes.get()).isEqualTo(before + 2);
    Document stored = db.getCollection(AgentStore.COLLECTION).find().first();
    assertThat(AgentSecrets.open(kek, "weather", AgentSecrets.join(stored.getString("kekKeyId"),
        stored.getString("sealedSecret")))).isEqualTo(SECRET);

    HttpResponse<String> shown = send("GET", "/v1/admin/agents/weather", ADMIN_TOKEN, null);
    assertThat(shown.statusCode()).isEqualTo(200);
    assertThat(JSON.readTree(shown.body()).path("displayName").asText()).isEqualTo("Weather 2");
    HttpResponse<String> list = send("GET", "/v1/admin/agents", ADMIN_TOKEN, null);
    assertThat(JSON.readTree(list.body()).path("agents")).hasSize(1);

    assertThat(send("DELETE", "/v1/admin/agents/weather", ADMIN_TOKEN, null).statusCode()).isEqualTo(204);
    assertThat(refreshes.get()).isEqualTo(before + 3);
    assertThat(send("GET", "/v1/admin/agents/weather", ADMIN_TOKEN, null).statusCode()).isEqualTo(404);
    assertThat(send("DELETE", "/v1/admin/agents/weather", ADMIN_TOKEN, null).statusCode()).isEqualTo(404);
    assertThat(refreshes.get()).isEqualTo(before + 3);
  }

  @Test
  void theSecretIsNeverReturnedNorStoredInClear() throws Exception {
    List<String> bodies = new ArrayList<>();
    bodies.add(send("PUT", "/v1/admin/agents/weather", ADMIN_TOKEN, agentBody(SECRET)).body());
    bodies.add(send("GET", "/v1/admin/agents/weather", ADMIN_TOKEN, null).body());
    bodies.add(send("GET", "/v1/admin/agents", ADMIN_TOKEN, null).body());
    assertThat(bodies).allSatisfy(body -> assertThat(body).doesNotContain(SECRET).doesNotContain("secret"));

    String secretBase64 = Base64.getEncoder().encodeToString(SECRET.getBytes(StandardCharsets.UTF_8));
    List<String> documents = new ArrayList<>();
    db.getCollection(AgentStore.COLLECTION).find().forEach(doc -> documents.add(doc.toJson()));
    assertThat(documents).hasSize(1).allSatisfy(doc -> assertThat(doc)
        .doesNotContain(SECRET).doesNotContain(SECRET.substring(0, 16)).doesNotContain(secretBase64)
        .contains("sealedSecret").contains(kek.keyId()));
  }

  @Test
  void invalidRegistrationsAreRefusedByName() throws Exception {
    assertInvalid("/v1/admin/agents/Weather", agentBody(SECRET), "invalid_agent_id");
    assertInvalid("/v1/admin/agents/weather", agentBody("too-short"), "secret must be 32");
    assertInvalid("/v1/admin/agents/weather", agentBody(SECRET).replace("https://weather.example/events",
        "ftp://weather.example/"), "endpoint must be an absolute http or https URL");
    assertInvalid("/v1/admin/agents/weather", agentBody(SECRET).replace("https://weather.example/events",
        "/relative"), "endpoint must be");
    assertInvalid("/v1/admin/agents/weather", agentBody(SECRET).replace("https://weather.example/events",
        "https://user:pw@weather.example/"), "without user info");
    assertInvalid("/v1/admin/agents/weather", agentBody(SECRET).replace("\"Weather\"", "\"\""), "displayName must be");
    assertInvalid("/v1/admin/agents/weather", "{\"displayName\":\"W\",\"endpoint\":\"https://w.example/\"}",
        "secret is required for a new agent");
    assertInvalid("/v1/admin/agents/weather", agentBody(SECRET).replace("\"enabled\":true", "\"enabeld\":true"),
        "unknown field enabeld");
    assertInvalid("/v1/admin/agents/weather", "{\"displayName\":\"W\",\"endpoint\":\"https://w.example/\","
        + "\"examples\":\"one\",\"secret\":\"" + SECRET + "\"}", "examples must be an array");
    assertInvalid("/v1/admin/agents/weather", "{\"displayName\":\"W\",\"endpoint\":\"https://w.example/\","
        + "\"examples\":[\"two\\nlines\"],\"secret\":\"" + SECRET + "\"}", "examples[0] must be one line");
    String many = "[" + String.join(",", java.util.Collections.nCopies(201, "\"what is the weather\"")) + "]";
    assertInvalid("/v1/admin/agents/weather", "{\"displayName\":\"W\",\"endpoint\":\"https://w.example/\","
        + "\"examples\":" + many + ",\"secret\":\"" + SECRET + "\"}", "at most 200 example utterances");
    assertInvalid("/v1/admin/agents/weather", "{\"displayName\":\"W\",\"endpoint\":\"https://w.example/\","
        + "\"description\":\"" + "d".repeat(2001) + "\",\"secret\":\"" + SECRET + "\"}", "description must be at most");
    assertInvalid("/v1/admin/agents/weather", "not json", "not valid JSON");

    HttpResponse<String> reserved = send("PUT", "/v1/admin/agents/assistant", ADMIN_TOKEN, agentBody(SECRET));
    assertThat(reserved.statusCode()).isEqualTo(409);
    assertThat(reserved.body()).contains("reserved_agent_id");
    assertThat(db.getCollection(AgentStore.COLLECTION).countDocuments()).isZero();
  }

  @Test
  void usersListTheEnabledAgentsWithTheirToken() throws Exception {
    AgentSpec weather = new AgentSpec("weather", "Weather", Optional.of(URI.create("https://weather.example/")),
        "forecasts", List.of("rain tomorrow?"), "sealed", true, AgentSpec.Source.ADMIN,
        accounts.accountIdOf("weather"));
    AgentSpec hidden = new AgentSpec("hidden", "Hidden", Optional.of(URI.create("https://hidden.example/")),
        "", List.of(), "sealed", false, AgentSpec.Source.ADMIN, accounts.accountIdOf("hidden"));
    table.offer(new RegistrySnapshot(table.current().version() + 1, Instant.now(), List.of(frontDoor(), weather, hidden)));

    assertThat(send("GET", "/v1/agents", null, null).statusCode()).isEqualTo(401);
    assertThat(send("GET", "/v1/agents", "not.a.jwt", null).statusCode()).isEqualTo(401);
    HttpResponse<String> response = send("GET", "/v1/agents", userToken(), null);
    assertThat(response.statusCode()).isEqualTo(200);
    JsonNode agents = JSON.readTree(response.body()).path("agents");
    assertThat(agents).hasSize(2);
    assertThat(agents.get(0).path("id").asText()).isEqualTo("assistant");
    assertThat(agents.get(0).path("frontDoor").asBoolean()).isTrue();
    assertThat(agents.get(1).path("id").asText()).isEqualTo("weather");
    assertThat(agents.get(1).path("frontDoor").asBoolean()).isFalse();
    assertThat(agents.get(1).path("accountId").asText()).isEqualTo(accounts.accountIdOf("weather"));
    assertThat(response.body()).doesNotContain("sealed").doesNotContain("endpoint");
  }

  private static AgentSpec frontDoor() {
    return new AgentSpec("assistant", "Parley Assistant", Optional.empty(), "picks the right agent", List.of(), "",
        true, AgentSpec.Source.BUILT_IN, accounts.accountIdOf("assistant"));
  }

  private static String agentBody(String secret) {
    return "{\"displayName\":\"Weather\",\"endpoint\":\"https://weather.example/events\","
        + "\"description\":\"Forecasts and current conditions\","
        + "\"examples\":[\"will it rain tomorrow\",\"temperature in Oslo\"],"
        + "\"secret\":\"" + secret + "\",\"enabled\":true}";
  }

  private void assertInvalid(String path, String body, String message) throws Exception {
    HttpResponse<String> response = send("PUT", path, ADMIN_TOKEN, body);
    assertThat(response.statusCode()).as(body).isEqualTo(400);
    assertThat(response.body()).contains(message).doesNotContain(SECRET);
  }

  private static String userToken() {
    return TestKeys.sign(userKey, new JWTClaimsSet.Builder().issuer("https://id.parley.test")
        .audience("parley").subject("u_AAAAAAAAAAAAAAAAAAAAAA")
        .expirationTime(Date.from(Instant.now().plusSeconds(600))).build());
  }

  private static HttpResponse<String> send(String method, String path, String token, String body) throws Exception {
    HttpRequest.Builder request = HttpRequest.newBuilder(URI.create("http://127.0.0.1:"
            + binding.localAddress().getPort() + path))
        .method(method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body))
        .header("Content-Type", "application/json");
    if (token != null) {
      request.header("Authorization", "Bearer " + token);
    }
    return HTTP.send(request.build(), HttpResponse.BodyHandlers.ofString());
  }
}
