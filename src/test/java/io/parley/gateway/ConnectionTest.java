package io.parley.gateway;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.nimbusds.jose.jwk.JWKSet;
import com.nimbusds.jose.jwk.RSAKey;
import com.nimbusds.jwt.JWTClaimsSet;
import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import io.parley.auth.TestKeys;
import io.parley.auth.TokenVerifier;
import io.parley.config.ParleySettings.AuthSettings;
import io.parley.config.ParleySettings.VerifiedTokenCache;
import io.parley.config.ParleySettings.ProtocolSettings;
import io.parley.config.ParleySettings.SessionSettings;
import io.parley.directory.DeviceDirectory;
import io.parley.directory.KeyDirectory;
import io.parley.identity.DeviceAddress;
import io.parley.inbox.Inbox;
import io.parley.presence.Presence;
import io.parley.protocol.FrameCodec;
import io.parley.protocol.ServerFrame;
import io.parley.session.DeviceOutbound;
import io.parley.session.DeviceSession;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Date;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.cluster.MemberStatus;
import org.apache.pekko.cluster.sharding.typed.javadsl.ClusterSharding;
import org.apache.pekko.cluster.sharding.typed.javadsl.Entity;
import org.apache.pekko.cluster.typed.Cluster;
import org.apache.pekko.cluster.typed.Join;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * One connection driven through its states: awaiting hello, attaching, live, draining and closed. Sharding
 * is real (a one-node cluster), but the device session, the inbox and the key directory are stand-in
 * entities that hand what they receive to test probes: the test plays the session's side of the attach.
 */
class ConnectionTest {
  private static final String ISSUER = "https://id.parley.test";
  private static final String AUDIENCE = "parley";
  private static final int KNOWN_DEVICE = 1;
  private static final int OUTBOUND_BUFFER = 256;
  private static final Duration QUIET = Duration.ofMillis(300);
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final AtomicInteger IDS = new AtomicInteger();
  private static final Config CONFIG = ConfigFactory.parseMap(Map.of(
          "pekko.remote.artery.canonical.port", 0,
          "pekko.cluster.jmx.multi-mbeans-in-same-jvm", "on",
          "pekko.coordinated-shutdown.run-by-jvm-shutdown-hook", "off",
          // the first message of each entity type waits for its shard on a busy machine
          "pekko.actor.testkit.typed.single-expect-default", "15s"))
      .withFallback(ConfigFactory.load());

  /** Where the stand-in entities send what they receive, by entity id. */
  private static final Map<String, ActorRef<DeviceSession.Command>> SESSION_ENTITIES = new ConcurrentHashMap<>();
  private static final Map<String, ActorRef<Inbox.Command>> INBOXES = new ConcurrentHashMap<>();

  private static ActorTestKit testKit;
  private static RSAKey signingKey;
  private static Connection.Deps deps;

  private String user;
  private TestProbe<DeviceSession.Command> sessionEntity;
  private TestProbe<Inbox.Command> inbox;
  private TestProbe<Presence.Command> presence;

  @BeforeAll
  static void start() {
    testKit = ActorTestKit.create("ConnectionTest", CONFIG);
    Cluster cluster = Cluster.get(testKit.system());
    cluster.manager().tell(Join.create(cluster.selfMember().address()));
    await().atMost(Duration.ofSeconds(10)).until(() -> cluster.selfMember().status() == MemberStatus.up());

    ClusterSharding sharding = ClusterSharding.get(testKit.system());
    sharding.init(Entity.of(DeviceSession.ENTITY_KEY, ctx -> forwardTo(SESSION_ENTITIES.get(ctx.getEntityId()))));
    sharding.init(Entity.of(Inbox.ENTITY_KEY, ctx -> inboxStandIn(INBOXES.get(ctx.getEntityId()))));
    sharding.init(Entity.of(KeyDirectory.ENTITY_KEY, ctx -> Behaviors.receiveMessage(msg -> {
      if (msg instanceof KeyDirectory.GetStatus status) {
        status.replyTo().tell(new KeyDirectory.Status(status.device(), 3, true, new byte[0]));
      }
      return Behaviors.same();
    })));

    signingKey = TestKeys.rsa("connection-test");
    AuthSettings auth = new AuthSettings(ISSUER, AUDIENCE, "", "", Duration.ofSeconds(30), false,
        Duration.ofHours(1), "", new VerifiedTokenCache(1000, Duration.ofMinutes(10)));
    TokenVerifier verifier = TokenVerifier.create(auth, Clock.systemUTC(), Optional.of(new JWKSet(signingKey)));
    SessionSettings session = new SessionSettings(1_000, 200, Duration.ofSeconds(5), Duration.ofMillis(200),
        Duration.ofSeconds(1), OUTBOUND_BUFFER, Duration.ofSeconds(30), 6, Duration.ofSeconds(15),
        Duration.ofSeconds(30));
    // no history and no limits: no test fetches or sends; each client gets its own presence probe
    deps = new Connection.Deps(verifier, sharding, null, session, new ProtocolSettings(65_536, 65_536, 100, 500),
        new FrameCodec(), new OneDevice(), null, null);
  }

  @AfterAll
  static void stop() {
    testKit.shutdownTestKit();
  }

  @BeforeEach
  void probes() {
    user = String.format("u_connectiontest%08d", IDS.incrementAndGet());
    sessionEntity = testKit.createTestProbe(DeviceSession.Command.class);
    SESSION_ENTITIES.put(new DeviceAddress(user, KNOWN_DEVICE).entityId(), sessionEntity.ref());
    inbox = testKit.createTestProbe(Inbox.Command.class);
    INBOXES.put(user, inbox.ref());
    presence = testKit.createTestProbe(Presence.Command.class);
  }

  @Test
  void beforeTheHelloOnlyPingsAreAnswered() throws Exception {
    Client client = new Client();
    client.say("{\"type\":\"listConversations\",\"requestId\":\"r1\"}");
    assertThat(client.next().path("code").asText()).isEqualTo("hello_required");
    client.say("{\"type\":\"ping\",\"nonce\":\"n1\"}");
    JsonNode pong = client.next();
    assertThat(pong.path("type").asText()).isEqualTo("pong");
    assertThat(pong.path("nonce").asText()).isEqualTo("n1");

    client.connection.tell(Connection.StreamEnded.INSTANCE);
    client.expectStopped();
    sessionEntity.expectNoMessage(QUIET);
  }

  @Test
  void aConnectionWhoseStreamNeverStartsStopsAtTheHelloTimeout() throws Exception {
    SessionSettings quick = sessionWith(Duration.ofMillis(300), deps.session().askTimeout());
    Client client = new Client(false, quick); // the client left between the upgrade request and its answer

    client.expectStopped();
    sessionEntity.expectNoMessage(QUIET);
  }

  @Test
  void aDeviceWithoutADirectoryEntryIsRefusedAndNeverBound() throws Exception {
    Client client = new Client();
    client.hello(KNOWN_DEVICE + 1);
    assertThat(client.next().path("code").asText()).isEqualTo("unknown_device");
    client.expectClose(Connection.CLOSE_UNKNOWN_DEVICE, "unknown_device");
    sessionEntity.expectNoMessage(QUIET);
  }

  @Test
  void anAttachedConnectionWelcomesAcksDirectlyAndUnbindsThroughTheSessionWhenTheStreamEnds() throws Exception {
    Client client = new Client();
    client.hello(KNOWN_DEVICE);
    DeviceSession.Bind bind = sessionEntity.expectMessageClass(DeviceSession.Bind.class);

    // attaching: requests are read, acks have no session to go to yet
    client.say("{\"type\":\"ping\",\"nonce\":\"attaching\"}");
    assertThat(client.next().path("type").asText()).isEqualTo("pong");

    TestProbe<DeviceSession.Command> attached = client.attach(bind);
    assertThat(presence.expectMessageClass(Presence.Connected.class).user()).isEqualTo(user);
    JsonNode keysLow = client.next();
    assertThat(keysLow.path("type").asText()).isEqualTo("keysLow");
    assertThat(keysLow.path("oneTimePreKeys").asInt()).isEqualTo(3);

    client.say("{\"type\":\"hello\",\"token\":\"" + token() + "\",\"device\":1,\"cursors\":{}}");
    assertThat(client.next().path("code").asText()).isEqualTo("already_authenticated");

    client.say("{\"type\":\"deliveryAck\",\"conversationId\":\"c-00000001\",\"seq\":7}");
    DeviceSession.Acked acked = attached.expectMessageClass(DeviceSession.Acked.class);
    assertThat(acked.connection()).isEqualTo(bind.connection());
    assertThat(acked.seq()).isEqualTo(7);

    bind.connection().tell(new DeviceOutbound.Push(new ServerFrame.Pong("pushed")));
    assertThat(client.next().path("nonce").asText()).isEqualTo("pushed");

    client.connection.tell(Connection.StreamEnded.INSTANCE);
    assertThat(attached.expectMessageClass(DeviceSession.Unbind.class).connection()).isEqualTo(bind.connection());
    client.expectStopped();
    sessionEntity.expectNoMessage(QUIET); // the Unbind took the direct route, not the sharded one
  }

  @Test
  void aShutdownAnswersTheRequestsInFlightReadsNothingMoreThenReconnectsAndCloses() throws Exception {
    Client client = new Client();
    client.hello(KNOWN_DEVICE);
    DeviceSession.Bind bind = sessionEntity.expectMessageClass(DeviceSession.Bind.class);
    TestProbe<DeviceSession.Command> attached = client.attach(bind);
    client.next(); // keysLow

    client.say("{\"type\":\"listConversations\",\"requestId\":\"r1\"}");
    Inbox.ListConversations list = inbox.expectMessageClass(Inbox.ListConversations.class);
    client.connection.tell(new Connection.Shutdown(Duration.ofSeconds(2)));

    client.say("{\"type\":\"ping\",\"nonce\":\"unread\"}");
    client.expectNothing();

    list.replyTo().tell(new Inbox.Conversations(Map.of("c-00000001", 1L)));
    JsonNode conversations = client.next();
    assertThat(conversations.path("type").asText()).isEqualTo("conversations");
    assertThat(conversations.path("requestId").asText()).isEqualTo("r1");
    JsonNode reconnect = client.next();
    assertThat(reconnect.path("type").asText()).isEqualTo("reconnect");
    assertThat(reconnect.path("reason").asText()).isEqualTo("server_restart");
    assertThat(reconnect.path("retryAfterMs").asLong()).isBetween(2_000L, 3_000L);
    client.expectClose(Connection.CLOSE_SERVICE_RESTART, "service_restart");

    client.connection.tell(Connection.StreamEnded.INSTANCE);
    assertThat(attached.expectMessageClass(DeviceSession.Unbind.class).connection()).isEqualTo(bind.connection());
    client.expectStopped();
  }

  @Test
  void aShutdownWhileAttachingWaitsForTheRequestsAndStillWelcomesAnAttach() throws Exception {
    Client client = new Client();
    client.hello(KNOWN_DEVICE);
    DeviceSession.Bind bind = sessionEntity.expectMessageClass(DeviceSession.Bind.class);
    client.say("{\"type\":\"listConversations\",\"requestId\":\"r1\"}");
    Inbox.ListConversations list = inbox.expectMessageClass(Inbox.ListConversations.class);
    client.connection.tell(new Connection.Shutdown(Duration.ofSeconds(1)));

    TestProbe<DeviceSession.Command> attached = client.attach(bind);
    client.nextOfType("keysLow");
    list.replyTo().tell(new Inbox.Conversations(Map.of()));
    assertThat(client.nextOfType("conversations").path("requestId").asText()).isEqualTo("r1");
    assertThat(client.next().path("type").asText()).isEqualTo("reconnect");
    client.expectClose(Connection.CLOSE_SERVICE_RESTART, "service_restart");

    client.connection.tell(Connection.StreamEnded.INSTANCE);
    attached.expectMessageClass(DeviceSession.Unbind.class);
    client.expectStopped();
  }

  @Test
  void aDisplacedConnectionClosesOnceAndLeavesTheSessionBound() throws Exception {
    Client client = new Client();
    client.hello(KNOWN_DEVICE);
    DeviceSession.Bind bind = sessionEntity.expectMessageClass(DeviceSession.Bind.class);
    TestProbe<DeviceSession.Command> attached = client.attach(bind);
    client.next(); // keysLow

    bind.connection().tell(new DeviceOutbound.Displaced());
    client.expectClose(Connection.CLOSE_REPLACED, "session_replaced");
    // after the close: no frame and no second close, whatever else arrives
    bind.connection().tell(new DeviceOutbound.SessionEnded());
    client.connection.tell(new Connection.Shutdown(Duration.ZERO));
    client.say("{\"type\":\"ping\",\"nonce\":\"late\"}");

    client.connection.tell(Connection.StreamEnded.INSTANCE);
    client.expectStopped();
    attached.expectNoMessage(QUIET); // the new connection owns the session: no Unbind
    assertThat(client.frames).isEmpty();
  }

  @Test
  void aStreamEndAfterTheCloseStillUnbindsTheAttachedSession() throws Exception {
    Client client = new Client();
    client.hello(KNOWN_DEVICE);
    DeviceSession.Bind bind = sessionEntity.expectMessageClass(DeviceSession.Bind.class);
    TestProbe<DeviceSession.Command> attached = client.attach(bind);
    client.next(); // keysLow

    bind.connection().tell(new DeviceOutbound.SessionEnded());
    assertThat(client.next().path("reason").asText()).isEqualTo("session_moved");
    client.expectClose(Connection.CLOSE_SESSION_MOVED, "session_moved");

    client.connection.tell(Connection.StreamEnded.INSTANCE);
    assertThat(attached.expectMessageClass(DeviceSession.Unbind.class).connection()).isEqualTo(bind.connection());
    client.expectStopped();
  }

  @Test
  void aSessionThatNeverAttachesAsksTheClientToReconnectAndCloses() throws Exception {
    Client client = new Client(true, sessionWith(deps.session().helloTimeout(), Duration.ofSeconds(1)));
    client.hello(KNOWN_DEVICE);
    sessionEntity.expectMessageClass(DeviceSession.Bind.class); // and the session never answers

    JsonNode reconnect = client.nextOfType("reconnect");
    assertThat(reconnect.path("reason").asText()).isEqualTo("session_unavailable");
    assertThat(reconnect.path("retryAfterMs").asLong()).isBetween(250L, 2_000L);
    client.expectClosedAndStopped(Connection.CLOSE_SESSION_MOVED, "session_unavailable");
  }

  @Test
  void aSessionThatStopsEndsTheConnectionAsMoved() throws Exception {
    Client client = new Client();
    Live live = live(client);

    live.session().stop(); // the session's node left, or the entity stopped without letting go
    assertThat(client.next().path("reason").asText()).isEqualTo("session_moved");
    client.expectClosedAndStopped(Connection.CLOSE_SESSION_MOVED, "session_moved");
  }

  @Test
  void anUnlinkedDeviceIsToldWhyAndClosedWithoutUnbinding() throws Exception {
    Client client = new Client();
    Live live = live(client);

    live.bind().connection().tell(new DeviceOutbound.Unlinked());
    JsonNode error = client.nextOfType("error");
    assertThat(error.path("code").asText()).isEqualTo("unknown_device");
    client.expectClosedAndStopped(Connection.CLOSE_UNKNOWN_DEVICE, "unknown_device");
    live.session().expectNoMessage(QUIET); // the session let go first: nothing to unbind
  }

  @Test
  void noFrameIsReadWhileTheMaximumOfRequestsIsUnanswered() throws Exception {
    Client client = new Client();
    client.hello(KNOWN_DEVICE);
    DeviceSession.Bind bind = sessionEntity.expectMessageClass(DeviceSession.Bind.class);
    client.attach(bind);
    client.next(); // keysLow
    client.acks.receiveSeveralMessages(1, Duration.ofSeconds(15)); // the hello's

    for (int i = 0; i < Requests.MAX_PENDING_REQUESTS; i++) {
      client.say("{\"type\":\"listConversations\",\"requestId\":\"r" + i + "\"}");
    }
    client.acks.receiveSeveralMessages(Requests.MAX_PENDING_REQUESTS - 1, Duration.ofSeconds(15));
    client.acks.expectNoMessage(QUIET); // the last one's read is held back

    Inbox.ListConversations first = inbox.expectMessageClass(Inbox.ListConversations.class);
    first.replyTo().tell(new Inbox.Conversations(Map.of()));
    client.acks.expectMessage(Connection.StreamAck.INSTANCE);
    assertThat(client.nextOfType("conversations").path("requestId").asText()).startsWith("r");
  }

  // ---- the client's side ----

  /** One connection with the outbound queue read into {@link #frames}, as the socket would. */
  private final class Client {
    final BlockingQueue<JsonNode> frames = new LinkedBlockingQueue<>();
    final CompletionStage<?> outboundDone;
    final TestProbe<Connection.StreamAck> acks = testKit.createTestProbe(Connection.StreamAck.class);
    final ActorRef<Connection.Command> connection;
    private final TestProbe<Connection.Command> watcher = testKit.createTestProbe(Connection.Command.class);

    Client() {
      this(true, deps.session());
    }

    /** {@code streamStarts}: whether the socket's stream materializes and starts (unless the client left first). */
    Client(boolean streamStarts, SessionSettings session) {
      Connection.Deps withPresence = new Connection.Deps(deps.verifier(), deps.sharding(), deps.history(),
          session, deps.protocol(), deps.codec(), deps.directory(), presence.ref(), deps.limits());
      Outbound outbound = new Outbound(OUTBOUND_BUFFER);
      CompletableFuture<Void> done = new CompletableFuture<>();
      outboundDone = done;
      if (streamStarts) {
        // what the socket's stream does when it materializes: take the frames whenever some wait
        outbound.attach(() -> take(outbound, done));
      }
      connection = testKit.spawn(Connection.create(withPresence, outbound));
      if (streamStarts) {
        connection.tell(new Connection.StreamStarted(testKit.<Connection.StreamAck>createTestProbe().ref()));
      }
    }

    private synchronized void take(Outbound outbound, CompletableFuture<Void> done) {
      outbound.woken();
      for (String frame = outbound.poll(); frame != null; frame = outbound.poll()) {
        try {
          frames.add(JSON.readTree(frame));
        } catch (JsonProcessingException e) {
          throw new IllegalStateException(e);
        }
      }
      if (outbound.isCompleted()) {
        done.complete(null);
      }
    }

    void say(String json) {
      connection.tell(new Connection.Inbound(acks.ref(), new WebSocketFlow.Text(json)));
    }

    void hello(int device) {
      say("{\"type\":\"hello\",\"token\":\"" + token() + "\",\"device\":" + device + ",\"cursors\":{}}");
    }

    /** Plays the bound session: attaches the connection and expects the welcome. */
    TestProbe<DeviceSession.Command> attach(DeviceSession.Bind bind) throws InterruptedException {
      TestProbe<DeviceSession.Command> attached = testKit.createTestProbe(DeviceSession.Command.class);
      bind.connection().tell(new DeviceOutbound.Attached(attached.ref()));
      JsonNode welcome = nextOfType("welcome");
      assertThat(welcome.path("user").asText()).isEqualTo(user);
      assertThat(welcome.path("device").asInt()).isEqualTo(KNOWN_DEVICE);
      return attached;
    }

    JsonNode next() throws InterruptedException {
      JsonNode frame = frames.poll(15, TimeUnit.SECONDS);
      assertThat(frame).as("a frame within 15 s").isNotNull();
      return frame;
    }

    JsonNode nextOfType(String type) throws InterruptedException {
      JsonNode frame = next();
      assertThat(frame.path("type").asText()).as(frame.toString()).isEqualTo(type);
      return frame;
    }

    void expectNothing() throws InterruptedException {
      assertThat(frames.poll(QUIET.toMillis(), TimeUnit.MILLISECONDS)).isNull();
    }

    /** The close frame is the last one: the outbound stream completes after it. */
    void expectClose(int code, String reason) throws Exception {
      JsonNode close = nextOfType("close");
      assertThat(close.path("code").asInt()).isEqualTo(code);
      assertThat(close.path("reason").asText()).isEqualTo(reason);
      outboundDone.toCompletableFuture().get(15, TimeUnit.SECONDS);
      assertThat(frames).isEmpty();
    }

    /** The close frame is the last one; when the socket's stream then ends, the connection stops. */
    void expectClosedAndStopped(int code, String reason) throws Exception {
      expectClose(code, reason);
      connection.tell(Connection.StreamEnded.INSTANCE);
      expectStopped();
    }

    void expectStopped() {
      watcher.expectTerminated(connection, Duration.ofSeconds(15));
    }
  }

  /** The client's bound connection and the session it attached to. */
  private record Live(DeviceSession.Bind bind, TestProbe<DeviceSession.Command> session) {}

  /** Says hello, plays the session's attach and reads the welcome's keysLow: the connection is live. */
  private Live live(Client client) throws InterruptedException {
    client.hello(KNOWN_DEVICE);
    DeviceSession.Bind bind = sessionEntity.expectMessageClass(DeviceSession.Bind.class);
    TestProbe<DeviceSession.Command> session = client.attach(bind);
    client.nextOfType("keysLow");
    return new Live(bind, session);
  }

  /** The test's session settings with another hello timeout and ask timeout. */
  private static SessionSettings sessionWith(Duration helloTimeout, Duration askTimeout) {
    SessionSettings s = deps.session();
    return new SessionSettings(s.maxInFlight(), s.fetchBatch(), s.cursorFlushInterval(), s.receiptFlushInterval(),
        s.inboxFlushInterval(), s.outboundBuffer(), helloTimeout, s.maxDevicesPerUser(), askTimeout,
        s.inboxPassivateIdleAfter());
  }

  private String token() {
    return TestKeys.sign(signingKey, new JWTClaimsSet.Builder()
        .issuer(ISSUER)
        .audience(AUDIENCE)
        .subject(user)
        .expirationTime(Date.from(Instant.now().plus(Duration.ofHours(1))))
        .build());
  }

  // ---- stand-ins ----

  private static <T> Behavior<T> forwardTo(ActorRef<T> probe) {
    return Behaviors.receiveMessage(msg -> {
      probe.tell(msg);
      return Behaviors.same();
    });
  }

  /** Registers every device; anything else goes to the test's probe. */
  private static Behavior<Inbox.Command> inboxStandIn(ActorRef<Inbox.Command> probe) {
    return Behaviors.receiveMessage(msg -> {
      if (msg instanceof Inbox.RegisterDevice register) {
        register.replyTo().tell(new Inbox.Registered(register.device()));
      } else {
        probe.tell(msg);
      }
      return Behaviors.same();
    });
  }

  /** Every account has device 1 only. */
  private static final class OneDevice implements DeviceDirectory {
    @Override
    public CompletionStage<DeviceList> devices(String accountId) {
      return CompletableFuture.completedFuture(new DeviceList(accountId, new TreeSet<>(Set.of(KNOWN_DEVICE)), 1));
    }

    @Override
    public CompletionStage<DeviceList> cachedDevices(String accountId) {
      return devices(accountId);
    }
  }
}
