package io.parley.client;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.parley.testing.AgentsApi;
import io.parley.testing.NodeExtension;
import io.parley.testing.NodeProcess;
import io.parley.testing.TestAgent;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Users chat with agents through a real node: SDK clients, the agent gateway (the agents' devices), real
 * agent HTTP services (the demo agents beside the node, and a test agent registered through the admin API),
 * CloudEvents both ways.
 */
class AgentConversationIntegrationTest {
  private static final String ADMIN_TOKEN = "agent-test-admin-token-0123456789abcdef0123456789";
  private static final String AGENT_SECRET = "test-agent-secret-0123456789abcdef0123456789";
  private static final int MANAGEMENT = NodeProcess.freePort();
  private static final HttpClient HTTP = HttpClient.newHttpClient();
  private static final Duration WAIT = Duration.ofSeconds(60);
  private static final AtomicInteger USERS = new AtomicInteger();

  @RegisterExtension
  static final NodeExtension parley = new NodeExtension(Map.ofEntries(
      Map.entry("parley.agents.enabled", true),
      Map.entry("parley.agents.demo.start-with-node", true),
      Map.entry("parley.agents.dispatch.backoff-min", "50ms"),
      Map.entry("parley.agents.dispatch.backoff-max", "500ms"),
      Map.entry("parley.agents.dispatch.breaker-max-failures", 2),
      Map.entry("parley.agents.dispatch.breaker-reset-timeout", "500ms"),
      Map.entry("parley.directory.claim-rate", 10_000),
      Map.entry("pekko.management.http.port", MANAGEMENT),
      Map.entry("parley.auth.admin-token", ADMIN_TOKEN)));

  @RegisterExtension
  final TestClients clients = TestClients.perTest(parley);

  @Test
  void aUserAsksTheDemoEchoAgentAndGetsItsAnswerEncryptedFromTheAgentsDevice() {
    TestClients.Device alice = user("alice");
    String echo = agentAccount(alice, "echo");
    String c = conversation();
    alice.client.createConversation(c, List.of(echo)).join();

    alice.client.send(c, "what is parley").join();

    await().atMost(WAIT).until(() -> fromAgent(alice, c, echo).size() >= 1);
    DecryptedMessage answer = fromAgent(alice, c, echo).get(0);
    assertThat(answer.text()).containsIgnoringCase("parley").isNotEqualTo("what is parley");
    assertThat(alice.errors).isEmpty();
  }

  @Test
  void theFrontDoorHandsTheConversationOverVisiblyAndTheChosenAgentAnswers() {
    TestClients.Device bob = user("bob");
    String assistant = agentAccount(bob, "assistant");
    String c = conversation();
    bob.client.createConversation(c, List.of(assistant)).join();

    bob.client.send(c, "how does the end-to-end encryption work?").join();

    await().atMost(WAIT).until(() -> fromAgent(bob, c, assistant).size() >= 2);
    List<String> texts = fromAgent(bob, c, assistant).stream().map(DecryptedMessage::text).toList();
    assertThat(texts.get(0)).startsWith("↪ Echo");
    assertThat(texts.get(1)).startsWith("[Echo] ").containsIgnoringCase("encrypt");
  }

  @Test
  void aRegisteredAgentThatIsDownGetsTheMessageOnceItIsBackAndTheUserIsTold() throws Exception {
    try (TestAgent agent = TestAgent.start()) {
      agent.replyingTo(URI.create("http://127.0.0.1:" + parley.port()), "flaky", AGENT_SECRET);
      agent.mode(TestAgent.Mode.FAILING);
      register("flaky", agent.endpoint());
      TestClients.Device carol = user("carol");
      String flaky = agentAccount(carol, "flaky");
      String c = conversation();
      carol.client.createConversation(c, List.of(flaky)).join();

      carol.client.send(c, "are you there?").join();

      await().atMost(WAIT).until(() -> fromAgent(carol, c, flaky).stream()
          .anyMatch(m -> m.text().contains("not reachable right now")));
      assertThat(agent.received()).isEmpty();

      agent.mode(TestAgent.Mode.UP);
      TestAgent.Received received = agent.received().poll(WAIT.toSeconds(), TimeUnit.SECONDS);
      assertThat(received).isNotNull();
      assertThat(received.text()).isEqualTo("are you there?");
      assertThat(received.type()).isEqualTo("io.parley.message.created");
      assertThat(received.conversationId()).isEqualTo(c);
      assertThat(received.id()).isEqualTo(c + ":" + received.seq());

      await().atMost(WAIT).until(() -> carol.texts(c).contains("echo: are you there?"));
      assertThat(agent.acceptedIds()).containsOnly(received.id());
    }
  }

  @Test
  void anAgentCannotSpeakInAConversationItIsNotPartOf() throws Exception {
    try (TestAgent agent = TestAgent.start()) {
      register("nosy", agent.endpoint());
      TestClients.Device dave = user("dave");
      TestClients.Device erin = user("erin");
      String c = conversation();
      dave.client.createConversation(c, List.of(erin.id())).join();
      agentAccount(dave, "nosy");

      HttpResponse<String> response = HTTP.send(HttpRequest.newBuilder(
              URI.create("http://127.0.0.1:" + parley.port() + "/v1/agents/nosy/events"))
          .header("Authorization", "Bearer " + AGENT_SECRET)
          .header("Content-Type", "application/json")
          .header("ce-specversion", "1.0")
          .header("ce-id", "intrusion-1")
          .header("ce-type", "io.parley.reply.message")
          .header("ce-source", "/nosy")
          .header("ce-parleyconversation", c)
          .POST(HttpRequest.BodyPublishers.ofString("{\"text\":\"hello from nowhere\"}"))
          .build(), HttpResponse.BodyHandlers.ofString());

      assertThat(response.statusCode()).isEqualTo(403);
      assertThat(erin.messages).isEmpty();
    }
  }

  @Test
  void aStreamedReplyArrivesAsEncryptedEphemeralsThenOnceAsAStoredMessage() throws Exception {
    try (TestAgent agent = TestAgent.start()) {
      register("streamer", agent.endpoint());
      TestClients.Device frank = user("frank");
      String streamer = agentAccount(frank, "streamer");
      String c = conversation();
      frank.client.createConversation(c, List.of(streamer)).join();

      assertThat(reply("streamer", c, "s-1", "io.parley.reply.typing", "{\"active\":true}")).isEqualTo(202);
      assertThat(reply("streamer", c, "s-2", "io.parley.reply.partial", "{\"text\":\"Hello\"}")).isEqualTo(202);
      assertThat(reply("streamer", c, "s-3", "io.parley.reply.partial", "{\"text\":\"Hello wor\"}")).isEqualTo(202);
      await().atMost(WAIT).until(() -> frank.ephemerals.size() >= 2);
      assertThat(frank.ephemerals).extracting(EphemeralMessage::text).containsExactly("Hello", "Hello wor");
      assertThat(frank.ephemerals).allMatch(e -> e.fromUser().equals(streamer) && e.conversationId().equals(c));
      assertThat(frank.typing).anyMatch(t -> t.active());
      assertThat(frank.texts(c)).isEmpty();

      assertThat(reply("streamer", c, "s-final", "io.parley.reply.message", "{\"text\":\"Hello world\"}"))
          .isEqualTo(202);
      // the agent retries its final reply: a duplicate by event id, stored once
      assertThat(reply("streamer", c, "s-final", "io.parley.reply.message", "{\"text\":\"Hello world\"}"))
          .isEqualTo(200);
      await().atMost(WAIT).until(() -> frank.texts(c).contains("Hello world"));
      frank.client.send(c, "thanks").join();
      await().atMost(WAIT).until(() -> agent.received().stream().anyMatch(r -> r.text().equals("thanks")));
      assertThat(frank.texts(c)).containsExactly("Hello world");
    }
  }

  @Test
  void forgedRepliesAreRefusedAndChangeNothing() throws Exception {
    try (TestAgent agent = TestAgent.start()) {
      register("guarded", agent.endpoint());
      TestClients.Device grace = user("grace");
      String guarded = agentAccount(grace, "guarded");
      String c = conversation();
      grace.client.createConversation(c, List.of(guarded)).join();

      HttpResponse<String> forged = HTTP.send(replyRequest("guarded", c, "f-1", "io.parley.reply.message",
              "{\"text\":\"forged\"}")
          .header("Authorization", "Bearer not-the-secret-0123456789abcdef0123456789").build(),
          HttpResponse.BodyHandlers.ofString());
      HttpResponse<String> badSignature = HTTP.send(replyRequest("guarded", c, "f-2", "io.parley.reply.message",
              "{\"text\":\"forged\"}")
          .header("X-Parley-Timestamp", Long.toString(System.currentTimeMillis() / 1000))
          .header("X-Parley-Signature", "sha256=" + "00".repeat(32)).build(),
          HttpResponse.BodyHandlers.ofString());

      assertThat(forged.statusCode()).isEqualTo(401);
      assertThat(badSignature.statusCode()).isEqualTo(401);
      assertThat(reply("guarded", c, "f-3", "io.parley.reply.message", "{\"text\":\"genuine\"}")).isEqualTo(202);
      await().atMost(WAIT).until(() -> grace.texts(c).contains("genuine"));
      assertThat(grace.texts(c)).containsExactly("genuine");
    }
  }

  private static int reply(String agentId, String conversation, String id, String type, String data)
      throws Exception {
    return HTTP.send(replyRequest(agentId, conversation, id, type, data)
        .header("Authorization", "Bearer " + AGENT_SECRET).build(), HttpResponse.BodyHandlers.ofString()).statusCode();
  }

  private static HttpRequest.Builder replyRequest(String agentId, String conversation, String id, String type,
                                                  String data) {
    return HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + parley.port() + "/v1/agents/" + agentId
            + "/events"))
        .header("Content-Type", "application/json")
        .header("ce-specversion", "1.0")
        .header("ce-id", id)
        .header("ce-type", type)
        .header("ce-source", "/" + agentId)
        .header("ce-parleyconversation", conversation)
        .POST(HttpRequest.BodyPublishers.ofString(data));
  }

  private TestClients.Device user(String name) {
    return clients.start(clients.account(name + "-agents-" + USERS.incrementAndGet()), 1);
  }

  private static String conversation() {
    return "c-" + UUID.randomUUID();
  }

  private static List<DecryptedMessage> fromAgent(TestClients.Device user, String conversation, String agent) {
    return user.messages.stream()
        .filter(m -> m.conversationId().equals(conversation) && m.fromUser().equals(agent))
        .toList();
  }

  /** The agent's account from the users' agent list, once the agent's device is in the key directory. */
  private static String agentAccount(TestClients.Device user, String agentId) {
    String token = user.account.token();
    String account = await().atMost(WAIT).until(() -> AgentsApi.listed(parley.port(), token, agentId),
        Optional::isPresent).get();
    await().atMost(WAIT).until(() -> AgentsApi.hasDevice(parley.port(), token, account));
    return account;
  }

  private static void register(String id, URI endpoint) throws Exception {
    AgentsApi.register(MANAGEMENT, ADMIN_TOKEN, id, endpoint, AGENT_SECRET);
  }
}
