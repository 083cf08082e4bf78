package io.parley.session;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import io.parley.config.ParleySettings.SessionSettings;
import io.parley.conversation.Conversation;
import io.parley.conversation.ConversationEvent;
import io.parley.conversation.ConversationHistory;
import io.parley.conversation.SealedEnvelope;
import io.parley.identity.DeviceAddress;
import io.parley.inbox.Inbox;
import io.parley.protocol.ReceiptKind;
import io.parley.protocol.ServerFrame;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.pekko.Done;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.persistence.testkit.PersistenceTestKitPlugin;
import org.apache.pekko.persistence.testkit.PersistenceTestKitSnapshotPlugin;
import org.apache.pekko.persistence.testkit.javadsl.PersistenceTestKit;
import org.apache.pekko.persistence.testkit.query.javadsl.PersistenceTestKitReadJournal;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * One device session alone: its states, in-order delivery, the sender's own seqs, catch-up from the journal
 * and batched receipts. The journal is the persistence testkit's; the inbox and the conversations are a fake
 * {@link SessionNeighbours}.
 */
class DeviceSessionTest {
  private static final String ALICE = "u_alice0000000000000000";
  private static final String BOB = "u_bob000000000000000000";
  private static final Duration RECEIPT_FLUSH = Duration.ofMillis(200);
  private static final SessionSettings SETTINGS = new SessionSettings(1_000, 200, Duration.ofHours(1),
      RECEIPT_FLUSH, Duration.ofSeconds(1), 4096, Duration.ofSeconds(10), 6, Duration.ofSeconds(3),
      Duration.ofSeconds(30));
  private static final Config CONFIG = ConfigFactory.parseResources("serialization.conf")
      .withFallback(PersistenceTestKitPlugin.getInstance().config())
      .withFallback(PersistenceTestKitSnapshotPlugin.getInstance().config())
      .withFallback(ConfigFactory.parseString("pekko.persistence.testkit.events.serialize = off"))
      .withFallback(ConfigFactory.load());
  private static final AtomicInteger IDS = new AtomicInteger();

  private static ActorTestKit testKit;
  private static PersistenceTestKit journal;

  private final Neighbours neighbours = new Neighbours();
  private DeviceAddress bob;
  private String conversationId;

  @BeforeAll
  static void start() {
    testKit = ActorTestKit.create("DeviceSessionTest", CONFIG);
    journal = PersistenceTestKit.create(testKit.system());
  }

  @AfterAll
  static void stop() {
    testKit.shutdownTestKit();
  }

  @BeforeEach
  void names() {
    int n = IDS.incrementAndGet();
    bob = new DeviceAddress(BOB, n);
    conversationId = "c-" + n;
  }

  private ActorRef<DeviceSession.Command> session() {
    ConversationHistory history = new ConversationHistory(testKit.system(), PersistenceTestKitReadJournal.Identifier());
    return testKit.spawn(DeviceSession.create(bob, SETTINGS, history, neighbours));
  }

  private TestProbe<DeviceOutbound> bind(ActorRef<DeviceSession.Command> session, Map<String, Long> cursors) {
    TestProbe<DeviceOutbound> connection = testKit.createTestProbe();
    session.tell(new DeviceSession.Bind(connection.getRef(), cursors));
    connection.expectMessageClass(DeviceOutbound.Attached.class);
    return connection;
  }

  @Test
  void liveEventsArePushedInOrderWithTheDevicesOwnEnvelope() {
    neighbours.conversations.put(BOB, Map.of());
    ActorRef<DeviceSession.Command> session = session();
    TestProbe<DeviceOutbound> connection = bind(session, Map.of());

    session.tell(deliver(2, "hello bob"));
    session.tell(deliver(3, "again"));

    ServerFrame.Message first = message(connection);
    assertThat(first.seq()).isEqualTo(2);
    assertThat(new String(java.util.Base64.getDecoder().decode(first.envelope().body()), StandardCharsets.UTF_8))
        .isEqualTo("hello bob");
    assertThat(message(connection).seq()).isEqualTo(3);
    connection.expectNoMessage(Duration.ofMillis(100));
  }

  @Test
  void theDevicesOwnMessageTakesItsPlaceInTheOrderWithoutAFrame() {
    neighbours.conversations.put(BOB, Map.of());
    ActorRef<DeviceSession.Command> session = session();
    TestProbe<DeviceOutbound> connection = bind(session, Map.of());

    session.tell(new DeviceSession.OwnSent(conversationId, 2, 2));
    // seq 3 follows at once: nothing in the journal, so a frame can only come from the live path
    session.tell(deliver(3, "after my own"));

    assertThat(message(connection).seq()).isEqualTo(3);
    connection.expectNoMessage(Duration.ofMillis(100));
  }

  @Test
  void anOwnSeqAfterUnacknowledgedFramesIsAcknowledgedWithThemAndHoldsNoWindowSlot() {
    neighbours.conversations.put(BOB, Map.of());
    ActorRef<DeviceSession.Command> session = session();
    TestProbe<DeviceOutbound> connection = bind(session, Map.of());
    session.tell(deliver(2, "from alice"));
    assertThat(message(connection).seq()).isEqualTo(2);

    session.tell(new DeviceSession.OwnSent(conversationId, 3, 2)); // bob replies before acknowledging 2
    session.tell(new DeviceSession.Acked(connection.getRef(), conversationId, 2));
    session.tell(DeviceSession.Stop.INSTANCE);
    connection.expectTerminated(session, Duration.ofSeconds(5));

    // the cursor saved at stop covers the own seq 3, though the client never acknowledged it
    assertThat(neighbours.saved.get(bob)).containsEntry(conversationId, 3L);
  }

  @Test
  void liveEventsThatArriveWhileBindingAreKeptForTheLiveConnection() {
    CompletableFuture<Map<String, Long>> listing = new CompletableFuture<>();
    neighbours.pending.put(BOB, listing);
    ActorRef<DeviceSession.Command> session = session();
    TestProbe<DeviceOutbound> connection = testKit.createTestProbe();
    session.tell(new DeviceSession.Bind(connection.getRef(), Map.of()));
    session.tell(deliver(2, "during the bind"));

    listing.complete(Map.of());

    connection.expectMessageClass(DeviceOutbound.Attached.class);
    assertThat(message(connection).seq()).isEqualTo(2);
  }

  @Test
  void aBoundDeviceCatchesUpFromItsCursorThroughTheJournalEachSeqOnce() {
    neighbours.conversations.put(BOB, Map.of(conversationId, 1L));
    journal.persistForRecovery(Conversation.persistenceId(conversationId).id(),
        List.of(created(), posted("one"), posted("two"), posted("three")));
    ActorRef<DeviceSession.Command> session = session();
    TestProbe<DeviceOutbound> connection = bind(session, Map.of(conversationId, 1L));

    // the listing made the stream catch up from the cursor: 2, 3, 4 from the journal, each once
    assertThat(List.of(message(connection).seq(), message(connection).seq(), message(connection).seq()))
        .containsExactly(2L, 3L, 4L);
    session.tell(deliver(4, "three")); // the live copy of what was read already
    connection.expectNoMessage(Duration.ofMillis(100));
  }

  @Test
  void aLiveEventAfterAGapIsPushedOnlyAfterTheMissingOnesAreReadFromTheJournal() {
    neighbours.conversations.put(BOB, Map.of());
    journal.persistForRecovery(Conversation.persistenceId(conversationId).id(),
        List.of(created(), posted("two"), posted("three"), posted("four")));
    ActorRef<DeviceSession.Command> session = session();
    TestProbe<DeviceOutbound> connection = bind(session, Map.of());
    session.tell(deliver(2, "two"));
    assertThat(message(connection).seq()).isEqualTo(2);

    session.tell(deliver(4, "four")); // seq 3 was lost on its way

    assertThat(List.of(message(connection).seq(), message(connection).seq())).containsExactly(3L, 4L);
    connection.expectNoMessage(Duration.ofMillis(100));
  }

  @Test
  void acknowledgementsBecomeOneDeliveredReceiptPerConversationPerBatch() {
    neighbours.conversations.put(BOB, Map.of());
    ActorRef<DeviceSession.Command> session = session();
    TestProbe<DeviceOutbound> connection = bind(session, Map.of());
    for (int seq = 2; seq <= 4; seq++) {
      session.tell(deliver(seq, "m" + seq));
      message(connection);
    }

    for (int seq = 2; seq <= 4; seq++) {
      session.tell(new DeviceSession.Acked(connection.getRef(), conversationId, seq));
    }

    neighbours.delivered.expectMessage(Duration.ofSeconds(3), new Delivered(conversationId, bob, 4));
    neighbours.delivered.expectNoMessage(RECEIPT_FLUSH.multipliedBy(2));
  }

  @Test
  void receiptsOfOthersArePushedOnlyWhenTheyAdvance() {
    neighbours.conversations.put(BOB, Map.of());
    ActorRef<DeviceSession.Command> session = session();
    TestProbe<DeviceOutbound> connection = bind(session, Map.of());

    session.tell(new DeviceSession.ReceiptNotice(conversationId, ALICE, ReceiptKind.DELIVERED, 5));
    session.tell(new DeviceSession.ReceiptNotice(conversationId, ALICE, ReceiptKind.DELIVERED, 3));
    session.tell(new DeviceSession.ReceiptNotice(conversationId, ALICE, ReceiptKind.READ, 3));

    assertThat(push(connection)).isEqualTo(new ServerFrame.Receipt(conversationId, ALICE, ReceiptKind.DELIVERED, 5));
    assertThat(push(connection)).isEqualTo(new ServerFrame.Receipt(conversationId, ALICE, ReceiptKind.READ, 3));
    connection.expectNoMessage(Duration.ofMillis(100));
  }

  @Test
  void anUnboundDeviceGetsNothingAndCatchesUpFromItsCursorWhenItBinds() {
    neighbours.conversations.put(BOB, Map.of(conversationId, 1L));
    journal.persistForRecovery(Conversation.persistenceId(conversationId).id(),
        List.of(created(), posted("while away")));
    ActorRef<DeviceSession.Command> session = session();
    session.tell(deliver(2, "while away"));

    TestProbe<DeviceOutbound> connection = bind(session, Map.of(conversationId, 1L));

    assertThat(message(connection).seq()).isEqualTo(2);
    connection.expectNoMessage(Duration.ofMillis(100));
  }

  @Test
  void aDeviceResumesAfterTheCursorItsInboxKeptWhenItIsAheadOfTheClients() {
    neighbours.conversations.put(BOB, Map.of(conversationId, 1L));
    neighbours.cursors.put(bob, Map.of(conversationId, 3L));
    journal.persistForRecovery(Conversation.persistenceId(conversationId).id(),
        List.of(created(), posted("one"), posted("two"), posted("three")));
    ActorRef<DeviceSession.Command> session = session();

    TestProbe<DeviceOutbound> connection = bind(session, Map.of(conversationId, 1L)); // a client that lost its own

    assertThat(message(connection).seq()).as("2 and 3 were acknowledged on an earlier connection").isEqualTo(4);
    connection.expectNoMessage(Duration.ofMillis(100));
  }

  @Test
  void acknowledgedCursorsAreHeldForTheBatchAndReachTheInboxWhenTheConnectionGoes() {
    neighbours.conversations.put(BOB, Map.of());
    ActorRef<DeviceSession.Command> session = session();
    TestProbe<DeviceOutbound> connection = bind(session, Map.of());
    session.tell(deliver(2, "one"));
    session.tell(deliver(3, "two"));
    assertThat(message(connection).seq()).isEqualTo(2);
    assertThat(message(connection).seq()).isEqualTo(3);
    session.tell(new DeviceSession.Acked(connection.getRef(), conversationId, 2));
    session.tell(new DeviceSession.Acked(connection.getRef(), conversationId, 3));
    connection.expectNoMessage(Duration.ofMillis(100));
    assertThat(neighbours.cursors.get(bob)).as("held for the batch (the flush interval is an hour here)").isNull();

    session.tell(new DeviceSession.Unbind(connection.getRef()));

    await().atMost(Duration.ofSeconds(3))
        .untilAsserted(() -> assertThat(neighbours.cursors.get(bob)).containsExactly(Map.entry(conversationId, 3L)));
    assertThat(neighbours.saved).as("a batch, not a save that waits").isEmpty();
  }

  @Test
  void aStoppingSessionWhoseSaveIsNeverAnsweredStopsAfterItsWait() {
    neighbours.conversations.put(BOB, Map.of());
    neighbours.savesHang = true;
    ActorRef<DeviceSession.Command> session = session();
    TestProbe<DeviceOutbound> connection = bind(session, Map.of());
    session.tell(deliver(2, "one"));
    assertThat(message(connection).seq()).isEqualTo(2);
    session.tell(new DeviceSession.Acked(connection.getRef(), conversationId, 2));

    long stopAt = System.nanoTime();
    session.tell(DeviceSession.Stop.INSTANCE);

    connection.expectMessageClass(DeviceOutbound.SessionEnded.class);
    connection.expectTerminated(session, Duration.ofSeconds(6));
    assertThat(Duration.ofNanos(System.nanoTime() - stopAt)).as("it waited for the save before giving up")
        .isGreaterThanOrEqualTo(Duration.ofMillis(2_500));
  }

  @Test
  void aSecondConnectionDisplacesTheFirst() {
    neighbours.conversations.put(BOB, Map.of());
    ActorRef<DeviceSession.Command> session = session();
    TestProbe<DeviceOutbound> first = bind(session, Map.of());

    TestProbe<DeviceOutbound> second = bind(session, Map.of());

    first.expectMessageClass(DeviceOutbound.Displaced.class);
    session.tell(new DeviceSession.KeysLow(3));
    assertThat(push(second)).isEqualTo(new ServerFrame.KeysLow(bob.device(), 3));
    first.expectNoMessage(Duration.ofMillis(100));
  }

  @Test
  void aConversationTheListingDidNotHaveStartsWhereTheUserJoined() {
    neighbours.conversations.put(BOB, Map.of());
    ActorRef<DeviceSession.Command> session = session();
    TestProbe<DeviceOutbound> connection = bind(session, Map.of());

    session.tell(new DeviceSession.Deliver(new ConversationEvent(conversationId, 5, posted("joined late")), 5));

    assertThat(message(connection).seq()).isEqualTo(5);
    connection.expectNoMessage(Duration.ofMillis(100));
  }

  // ---- helpers ----

  /** A live event of a conversation {@code bob} joined at seq 2 (so nothing before it is due). */
  private DeviceSession.Deliver deliver(long seq, String text) {
    return new DeviceSession.Deliver(new ConversationEvent(conversationId, seq, posted(text)), 2);
  }

  private Conversation.Created created() {
    return new Conversation.Created(ALICE, List.of(ALICE, BOB), 0);
  }

  private Conversation.MessagePosted posted(String text) {
    return new Conversation.MessagePosted(new DeviceAddress(ALICE, 1), "k-" + text,
        List.of(new SealedEnvelope(bob.user(), bob.device(), 2, text.getBytes(StandardCharsets.UTF_8))), 0);
  }

  private static ServerFrame push(TestProbe<DeviceOutbound> connection) {
    DeviceOutbound outbound = connection.receiveMessage(Duration.ofSeconds(3));
    assertThat(outbound).isInstanceOf(DeviceOutbound.Push.class);
    return ((DeviceOutbound.Push) outbound).frame();
  }

  private static ServerFrame.Message message(TestProbe<DeviceOutbound> connection) {
    ServerFrame frame = push(connection);
    assertThat(frame).isInstanceOf(ServerFrame.Message.class);
    return (ServerFrame.Message) frame;
  }

  record Delivered(String conversationId, DeviceAddress reader, long seq) {}

  private static Map<String, Long> ahead(Map<String, Long> base, Map<String, Long> advanced) {
    Map<String, Long> merged = new HashMap<>(base);
    advanced.forEach((id, seq) -> merged.merge(id, seq, Math::max));
    return Map.copyOf(merged);
  }

  private static final class Neighbours implements SessionNeighbours {
    final Map<String, Map<String, Long>> conversations = new ConcurrentHashMap<>();
    /** Listings answered only when the test completes them. */
    final Map<String, CompletableFuture<Map<String, Long>>> pending = new ConcurrentHashMap<>();
    final TestProbe<Delivered> delivered = testKit.createTestProbe();

    /** Cursors as the inbox keeps them, per device. */
    final Map<DeviceAddress, Map<String, Long>> cursors = new ConcurrentHashMap<>();
    /** Cursors saved by a stopping session (answered at once), per device. */
    final Map<DeviceAddress, Map<String, Long>> saved = new ConcurrentHashMap<>();
    /** An inbox that never answers a save (moving, unreachable). */
    volatile boolean savesHang;

    @Override
    public CompletionStage<Inbox.Resumption> resume(DeviceAddress device, Duration timeout) {
      CompletableFuture<Map<String, Long>> held = pending.remove(device.user());
      CompletionStage<Map<String, Long>> listing = held != null
          ? held : CompletableFuture.completedFuture(conversations.getOrDefault(device.user(), Map.of()));
      return listing.thenApply(joinedAt -> new Inbox.Resumption(joinedAt, cursors.getOrDefault(device, Map.of())));
    }

    @Override
    public void cursorsAdvanced(DeviceAddress device, Map<String, Long> advanced) {
      cursors.merge(device, advanced, DeviceSessionTest::ahead);
    }

    @Override
    public CompletionStage<Done> saveCursors(DeviceAddress device, Map<String, Long> advanced, Duration timeout) {
      if (savesHang) {
        return new CompletableFuture<>();
      }
      cursors.merge(device, advanced, DeviceSessionTest::ahead);
      saved.merge(device, advanced, DeviceSessionTest::ahead);
      return CompletableFuture.completedFuture(Done.getInstance());
    }

    @Override
    public void delivered(String conversationId, DeviceAddress reader, long seq) {
      delivered.getRef().tell(new Delivered(conversationId, reader, seq));
    }
  }
}
