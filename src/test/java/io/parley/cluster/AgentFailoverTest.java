package io.parley.cluster;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.parley.ParleyNode;
import io.parley.agent.gateway.AgentEndpoint;
import io.parley.client.DecryptedMessage;
import io.parley.client.Listener;
import io.parley.client.ParleyClient;
import io.parley.client.ParleyClientException;
import io.parley.client.StoreKey;
import io.parley.client.TokenSupplier;
import io.parley.testing.AgentsApi;
import io.parley.testing.DevAccounts;
import io.parley.testing.TestAgent;
import io.parley.testing.TestCluster;
import java.net.URI;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.cluster.Member;
import org.apache.pekko.cluster.MemberStatus;
import org.apache.pekko.cluster.typed.Cluster;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The agent registry's singleton runs on the oldest node. That node stops (gracefully, as in a rolling
 * update) while a user chats with an agent through another node: routing goes on from the survivors' local
 * snapshots, the agent's endpoint (placed on the stopped node on purpose) starts again on a survivor from its
 * vault with the same identity, every message reaches the agent once and every answer comes back, and a
 * registry change made afterwards reaches the survivors through the new singleton.
 */
class AgentFailoverTest {
  private static final String ADMIN_TOKEN = "agent-failover-admin-token-0123456789abcdef01234567";
  private static final String AGENT_SECRET = "agent-failover-secret-0123456789abcdef0123456789";
  private static final String AGENT = "helper";
  private static final String SECOND_AGENT = "helper-two";
  private static final Duration WAIT = Duration.ofSeconds(45);

  private static final Map<String, Object> AGENTS_ON = Map.ofEntries(
      Map.entry("parley.agents.enabled", true),
      Map.entry("parley.agents.demo.start-with-node", false),
      Map.entry("parley.agents.dispatch.backoff-min", "50ms"),
      Map.entry("parley.agents.dispatch.backoff-max", "500ms"),
      Map.entry("parley.agents.dispatch.breaker-max-failures", 2),
      Map.entry("parley.agents.dispatch.breaker-reset-timeout", "500ms"),
      Map.entry("parley.auth.admin-token", ADMIN_TOKEN));

  @TempDir Path dir;
  @TempDir Path stores;

  @Test
  void routingGoesOnFromTheLocalSnapshotsWhenTheRegistrySingletonsNodeStops() throws Exception {
    try (TestCluster cluster = TestCluster.create(dir, 3, AGENTS_ON); TestAgent agent = TestAgent.start()) {
      // node 0 alone first: it is the oldest member (the singleton's node) and the agent's endpoint starts there
      cluster.startNode(0, Map.of());
      cluster.awaitMembersUp(1);
      register(cluster.place(0), AGENT, agent.endpoint());
      await().atMost(WAIT).until(() -> TestCluster.entitiesOn(cluster.node(0), AgentEndpoint.ENTITY_KEY)
          .contains(AGENT));
      cluster.startNode(1, Map.of());
      cluster.startNode(2, Map.of());
      cluster.awaitMembersUp(3);
      assertThat(oldest(cluster)).as("the oldest member, where the registry singleton runs").isEqualTo(0);

      TestCluster.Place userPlace = cluster.place(1);
      agent.replyingTo(URI.create("http://127.0.0.1:" + userPlace.http()), AGENT, AGENT_SECRET);
      User alice = User.start(userPlace, stores);
      try {
        String agentAccount = listedOnEveryNode(cluster, alice, AGENT, List.of(0, 1, 2));
        await().atMost(WAIT).until(() -> hasDevice(userPlace, alice, agentAccount));
        String c = "c-" + UUID.randomUUID();
        alice.client.createConversation(c, List.of(agentAccount)).orTimeout(WAIT.toSeconds(), TimeUnit.SECONDS)
            .join();

        List<String> sent = new ArrayList<>();
        chat(alice, agent, c, agentAccount, "before the stop", sent);
        Map<Integer, Boolean> before = whereIs(cluster, AGENT);
        assertThat(before).as("agent endpoint placement before the stop").containsEntry(0, true);

        // messages sent while node 0 shuts down: its edge, its agent endpoint, the registry singleton and the
        // shard coordinator go away around them
        long stoppedAt = System.nanoTime();
        CompletableFuture<Void> stopping = CompletableFuture.runAsync(() -> cluster.stopNode(0));
        send(alice, c, "while node 0 stops, at once", sent);
        ParleyNode observer = cluster.node(1);
        await().atMost(WAIT).until(() -> stopping.isDone() || !isUp(observer, cluster.place(0)));
        send(alice, c, "while node 0 stops, once it is leaving", sent);
        stopping.get(WAIT.toSeconds(), TimeUnit.SECONDS);
        cluster.awaitMembersUp(2);
        long stopMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - stoppedAt);
        awaitAnswered(alice, agent, c, agentAccount, sent);
        long duringStopMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - stoppedAt);

        long firstAfterAt = System.nanoTime();
        chat(alice, agent, c, agentAccount, "after the stop, first", sent);
        long firstAfterMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - firstAfterAt);
        chat(alice, agent, c, agentAccount, "after the stop, second", sent);
        Map<Integer, Boolean> after = whereIs(cluster, AGENT);
        assertThat(after).as("agent endpoint placement after the stop").containsValue(true);

        // a registry change through a survivor's admin API reaches both survivors: the singleton moved
        try (TestAgent second = TestAgent.start()) {
          register(cluster.place(2), SECOND_AGENT, second.endpoint());
          listedOnEveryNode(cluster, alice, SECOND_AGENT, List.of(1, 2));
        }

        chat(alice, agent, c, agentAccount, "after the registry change", sent);

        List<String> texts = new ArrayList<>();
        agent.received().forEach(event -> texts.add(event.text()));
        assertThat(texts).as("what the agent received, once each, in order").containsExactlyElementsOf(sent);
        assertThat(agent.acceptedIds().stream().distinct().count()).as("distinct event ids").isEqualTo(sent.size());
        assertThat(alice.texts(c, agentAccount)).as("the agent's answers")
            .containsExactlyElementsOf(sent.stream().map(text -> "echo: " + text).toList());
        // every reply taken (202) once; a 503 (the contract's "send it again", e.g. while the endpoint moves) may
        // precede it, but a reply that is refused for good never reaches 202
        await().atMost(WAIT).until(() -> agent.replyStatuses().stream().filter(status -> status == 202).count()
            == sent.size());
        assertThat(agent.replyStatuses()).as("the node's answers to the agent's replies").isSubsetOf(202, 503);
        assertThat(alice.errors).as("the user's client errors (an identity change would be here)").isEmpty();
        System.out.printf("AgentFailoverTest: endpoint before %s, after %s; node stop %d ms; the messages sent"
                + " during the stop answered %d ms after it began; first message after the stop answered in %d ms;"
                + " event ids accepted %s; reply statuses %s%n", before, after, stopMs, duringStopMs, firstAfterMs,
            agent.acceptedIds(), agent.replyStatuses());
      } finally {
        alice.client.close();
      }
    }
  }

  /** Sends {@code text} and waits until the agent took it and its answer reached the user. */
  private static void chat(User user, TestAgent agent, String c, String agentAccount, String text, List<String> sent) {
    send(user, c, text, sent);
    awaitAnswered(user, agent, c, agentAccount, List.of(text));
  }

  /** Sends {@code text} and waits for the user's node to have stored it. */
  private static void send(User user, String c, String text, List<String> sent) {
    sent.add(text);
    user.client.send(c, text).orTimeout(WAIT.toSeconds(), TimeUnit.SECONDS).join();
  }

  private static void awaitAnswered(User user, TestAgent agent, String c, String agentAccount, List<String> texts) {
    for (String text : texts) {
      await().atMost(WAIT).until(() -> agent.received().stream().anyMatch(event -> event.text().equals(text)));
      await().atMost(WAIT).until(() -> user.texts(c, agentAccount).contains("echo: " + text));
    }
  }

  /** Whether {@code observer} sees the node in {@code place} as an Up member. */
  private static boolean isUp(ParleyNode observer, TestCluster.Place place) {
    for (Member member : Cluster.get(observer.system()).state().getMembers()) {
      if (member.address().getPort().get() == place.remote()) {
        return member.status() == MemberStatus.up();
      }
    }
    return false;
  }

  /** The place index of the oldest member, as the surviving nodes see it. */
  private static int oldest(TestCluster cluster) {
    ParleyNode observer = cluster.running().get(0);
    Member oldest = null;
    for (Member member : Cluster.get(observer.system()).state().getMembers()) {
      if (oldest == null || member.isOlderThan(oldest)) {
        oldest = member;
      }
    }
    int port = oldest.address().getPort().get();
    return cluster.places().stream().filter(place -> place.remote() == port).findFirst().orElseThrow().index();
  }

  /** For each running node, whether the agent's endpoint entity lives there now. */
  private static Map<Integer, Boolean> whereIs(TestCluster cluster, String agentId) {
    Map<Integer, Boolean> placement = new TreeMap<>();
    for (TestCluster.Place place : cluster.places()) {
      ParleyNode node = cluster.node(place.index());
      if (node != null) {
        placement.put(place.index(), TestCluster.entitiesOn(node, AgentEndpoint.ENTITY_KEY).contains(agentId));
      }
    }
    return placement;
  }

  /** Waits until every node in {@code places} routes to the agent; its account id. */
  private static String listedOnEveryNode(TestCluster cluster, User user, String agentId, List<Integer> places) {
    List<String> accounts = new CopyOnWriteArrayList<>();
    for (int index : places) {
      accounts.add(await().atMost(WAIT).until(() -> listed(cluster.place(index), user, agentId), Optional::isPresent)
          .get());
    }
    assertThat(accounts).as("the agent's account on every node").hasSize(places.size()).containsOnly(accounts.get(0));
    return accounts.get(0);
  }

  private static Optional<String> listed(TestCluster.Place place, User user, String agentId) throws Exception {
    return AgentsApi.listed(place.http(), user.account.token(), agentId);
  }

  private static boolean hasDevice(TestCluster.Place place, User user, String account) throws Exception {
    return AgentsApi.hasDevice(place.http(), user.account.token(), account);
  }

  private static void register(TestCluster.Place place, String id, URI endpoint) throws Exception {
    AgentsApi.register(place.management(), ADMIN_TOKEN, id, endpoint, AGENT_SECRET);
  }

  /** A user's SDK client on one node, recording what it hears. */
  private static final class User implements Listener {
    final DevAccounts.Account account;
    final List<DecryptedMessage> messages = new CopyOnWriteArrayList<>();
    final List<ParleyClientException> errors = new CopyOnWriteArrayList<>();
    ParleyClient client;

    private User(DevAccounts.Account account) {
      this.account = account;
    }

    static User start(TestCluster.Place place, Path stores) {
      User user = new User(DevAccounts.login(place.http(), "failover-" + UUID.randomUUID().toString().substring(0, 8)));
      byte[] key = new byte[32];
      new SecureRandom().nextBytes(key);
      user.client = ParleyClient.builder()
          .server(URI.create("http://127.0.0.1:" + place.http()))
          .tokens(TokenSupplier.fixed(user.account.token()))
          .device(1)
          .store(stores.resolve(user.account.handle()), StoreKey.raw(key))
          .reconnectBackoff(Duration.ofMillis(50), Duration.ofSeconds(2))
          .oneTimePreKeys(5)
          .listener(user)
          .build();
      user.client.start().orTimeout(WAIT.toSeconds(), TimeUnit.SECONDS).join();
      return user;
    }

    List<String> texts(String conversation, String from) {
      return messages.stream().filter(m -> m.conversationId().equals(conversation) && m.fromUser().equals(from))
          .map(DecryptedMessage::text).toList();
    }

    @Override public void onMessage(DecryptedMessage message) { messages.add(message); }
    @Override public void onError(ParleyClientException error) { errors.add(error); }
  }
}
