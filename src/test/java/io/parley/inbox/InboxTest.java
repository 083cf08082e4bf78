package io.parley.inbox;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.dataformat.cbor.CBORFactory;
import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import io.parley.conversation.Conversation;
import io.parley.conversation.ConversationEvent;
import io.parley.identity.DeviceAddress;
import io.parley.protocol.ReceiptKind;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.pekko.Done;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.persistence.testkit.javadsl.EventSourcedBehaviorTestKit;
import org.apache.pekko.serialization.SerializationExtension;
import org.apache.pekko.serialization.SerializerWithStringManifest;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** One user's inbox: devices, membership handed to the devices, receipt markers kept in batches. */
class InboxTest {
  private static final String BOB = "u_bob000000000000000000";
  private static final String ALICE = "u_alice0000000000000000";
  private static final Config CONFIG = ConfigFactory.parseResources("serialization.conf")
      .withFallback(EventSourcedBehaviorTestKit.config());
  private static final AtomicInteger IDS = new AtomicInteger();
  private static final Duration RECEIPT_FLUSH = Duration.ofMillis(100);

  private static ActorTestKit testKit;

  record Delivered(DeviceAddress device, ConversationEvent event, long fromSeq) {}

  private final List<Delivered> delivered = new CopyOnWriteArrayList<>();
  private EventSourcedBehaviorTestKit<Inbox.Command, Inbox.Event, Inbox.State> kit;
  private String conversationId;

  @BeforeAll
  static void start() {
    testKit = ActorTestKit.create("InboxTest", CONFIG);
  }

  @AfterAll
  static void stop() {
    testKit.shutdownTestKit();
  }

  @BeforeEach
  void newInbox() {
    conversationId = "c-" + IDS.incrementAndGet();
    kit = inbox(user(), RECEIPT_FLUSH);
  }

  private EventSourcedBehaviorTestKit<Inbox.Command, Inbox.Event, Inbox.State> inbox(String user,
                                                                                     Duration flushInterval) {
    DeviceDelivery devices = (device, event, fromSeq) -> delivered.add(new Delivered(device, event, fromSeq));
    return EventSourcedBehaviorTestKit.create(testKit.system(),
        Inbox.create(user, 2, Clock.fixed(Instant.parse("2026-01-01T00:00:00Z"), ZoneOffset.UTC),
            flushInterval, devices));
  }

  private String user() {
    return BOB + IDS.get();
  }

  @Test
  void devicesRegisterUpToTheLimitAndARepeatedRegistrationIsKept() {
    assertThat(kit.<Inbox.Registration>runCommand(r -> new Inbox.RegisterDevice(1, r)).reply())
        .isEqualTo(new Inbox.Registered(1));
    assertThat(kit.<Inbox.Registration>runCommand(r -> new Inbox.RegisterDevice(2, r)).reply())
        .isEqualTo(new Inbox.Registered(2));
    var again = kit.<Inbox.Registration>runCommand(r -> new Inbox.RegisterDevice(1, r));
    assertThat(again.reply()).isEqualTo(new Inbox.Registered(1));
    assertThat(again.hasNoEvents()).isTrue();

    assertThat(kit.<Inbox.Registration>runCommand(r -> new Inbox.RegisterDevice(3, r)).reply())
        .isEqualTo(new Inbox.TooManyDevices(2));
  }

  @Test
  void aNewConversationIsKeptThenHandedToEveryDeviceFromWhereTheUserJoined() {
    register(1, 2);
    ConversationEvent added = new ConversationEvent(conversationId, 7,
        new Conversation.MemberAdded(ALICE, user(), 0));

    var result = kit.runCommand(new Inbox.MembershipChanged(added));

    assertThat(result.events()).containsExactly(new Inbox.Joined(conversationId, 7));
    assertThat(delivered).containsExactlyInAnyOrder(
        new Delivered(new DeviceAddress(user(), 1), added, 7), new Delivered(new DeviceAddress(user(), 2), added, 7));
    assertThat(listed()).containsExactly(Map.entry(conversationId, 7L));
  }

  @Test
  void aMemberWhoLeavesHearsOfItFromWhereTheyJoinedAndTheConversationAndItsMarkersGo() {
    register(1);
    kit.runCommand(new Inbox.MembershipChanged(new ConversationEvent(conversationId, 1,
        new Conversation.Created(ALICE, List.of(ALICE, user()), 0))));
    kit.runCommand(new Inbox.MarkReceipt(conversationId, ReceiptKind.READ, 4));
    delivered.clear();
    ConversationEvent removed = new ConversationEvent(conversationId, 9,
        new Conversation.MemberRemoved(user(), user(), 0));

    var result = kit.runCommand(new Inbox.MembershipChanged(removed));

    assertThat(result.events()).containsExactly(new Inbox.Left(conversationId));
    assertThat(delivered).containsExactly(new Delivered(new DeviceAddress(user(), 1), removed, 1));
    assertThat(listed()).isEmpty();
    assertThat(markers()).isEqualTo(Inbox.Markers.NONE);
  }

  @Test
  void markersOnlyAdvanceAndAreKeptInOneBatchAcrossARestart() {
    kit.runCommand(new Inbox.MarkReceipt(conversationId, ReceiptKind.DELIVERED, 5));
    kit.runCommand(new Inbox.MarkReceipt(conversationId, ReceiptKind.DELIVERED, 3));
    kit.runCommand(new Inbox.MarkReceipt(conversationId, ReceiptKind.READ, 2));
    assertThat(markers()).isEqualTo(new Inbox.Markers(5, 2));

    String persistenceId = "Inbox|" + user();
    await().atMost(Duration.ofSeconds(5)).until(() ->
        !kit.persistenceTestKit().persistedInStorage(persistenceId).isEmpty());
    assertThat(kit.persistenceTestKit().persistedInStorage(persistenceId)).as("one event for the three marks")
        .containsExactly(new Inbox.Advanced(Map.of(conversationId, new Inbox.Markers(5, 2)), Map.of()));

    kit.restart();
    assertThat(markers()).isEqualTo(new Inbox.Markers(5, 2));
  }

  @Test
  void cursorsAreServedAtOnceAndPersistedWithTheMarkersInOneEvent() {
    kit = inbox(BOB + "-held-" + IDS.get(), Duration.ofHours(1)); // nothing flushes on its own during the test
    register(1, 2);
    String other = conversationId + "-other";
    kit.runCommand(new Inbox.AdvanceCursors(1, Map.of(conversationId, 4L, other, 2L)));
    kit.runCommand(new Inbox.AdvanceCursors(1, Map.of(conversationId, 3L))); // behind: kept as 4
    kit.runCommand(new Inbox.MarkReceipt(conversationId, ReceiptKind.DELIVERED, 4));
    assertThat(resumed(1).cursors()).isEqualTo(Map.of(conversationId, 4L, other, 2L));

    var saved = kit.<Done>runCommand(r -> new Inbox.SaveCursors(2, Map.of(conversationId, 1L), r));

    assertThat(saved.events()).as("everything pending, one event").containsExactly(new Inbox.Advanced(
        Map.of(conversationId, new Inbox.Markers(4, 0)),
        Map.of(1, Map.of(conversationId, 4L, other, 2L), 2, Map.of(conversationId, 1L))));
    kit.restart();
    assertThat(resumed(1).cursors()).isEqualTo(Map.of(conversationId, 4L, other, 2L));
    assertThat(resumed(2).cursors()).isEqualTo(Map.of(conversationId, 1L));
    assertThat(markers()).isEqualTo(new Inbox.Markers(4, 0));
  }

  @Test
  void advancedCursorsArePersistedByTheFlushTimer() {
    register(1);
    kit.runCommand(new Inbox.AdvanceCursors(1, Map.of(conversationId, 4L)));

    String persistenceId = "Inbox|" + user();
    await().atMost(Duration.ofSeconds(5)).until(() ->
        kit.persistenceTestKit().persistedInStorage(persistenceId).size() > 1);
    assertThat(kit.persistenceTestKit().persistedInStorage(persistenceId))
        .last().isEqualTo(new Inbox.Advanced(Map.of(), Map.of(1, Map.of(conversationId, 4L))));
  }

  @Test
  void aSaveIsPersistedAndAnsweredAndAnUnknownDevicesCursorsAreNotKept() {
    register(1);
    kit.runCommand(new Inbox.AdvanceCursors(3, Map.of(conversationId, 9L)));

    var saved = kit.<Done>runCommand(r -> new Inbox.SaveCursors(1, Map.of(conversationId, 6L), r));

    assertThat(saved.reply()).isEqualTo(Done.getInstance());
    assertThat(saved.events()).containsExactly(new Inbox.Advanced(Map.of(), Map.of(1, Map.of(conversationId, 6L))));
    assertThat(resumed(3).cursors()).isEmpty();
  }

  @Test
  void anUnlinkedDeviceAndALeftConversationTakeTheirCursorsWithThem() {
    register(1, 2);
    kit.runCommand(new Inbox.MembershipChanged(new ConversationEvent(conversationId, 1,
        new Conversation.Created(ALICE, List.of(ALICE, user()), 0))));
    kit.<Done>runCommand(r -> new Inbox.SaveCursors(1, Map.of(conversationId, 6L), r));
    kit.<Done>runCommand(r -> new Inbox.SaveCursors(2, Map.of(conversationId, 5L), r));

    kit.runCommand(new Inbox.RemoveDevice(2));
    kit.runCommand(new Inbox.MembershipChanged(new ConversationEvent(conversationId, 9,
        new Conversation.MemberRemoved(user(), user(), 0))));

    assertThat(kit.getState().cursors()).isEmpty();
    assertThat(resumed(1).cursors()).isEmpty();
    assertThat(resumed(2).cursors()).isEmpty();
  }

  @Test
  void aStoppingInboxPersistsTheCursorsItHolds() {
    String user = BOB + "-stop-" + IDS.get();
    ActorRef<Inbox.Command> inbox = testKit.spawn(Inbox.create(user, 2, Clock.systemUTC(), Duration.ofHours(1),
        (device, event, fromSeq) -> { }));
    TestProbe<Inbox.Registration> registered = testKit.createTestProbe();
    inbox.tell(new Inbox.RegisterDevice(1, registered.getRef()));
    registered.expectMessage(new Inbox.Registered(1));
    inbox.tell(new Inbox.AdvanceCursors(1, Map.of(conversationId, 7L)));

    inbox.tell(Inbox.Stop.INSTANCE);

    registered.expectTerminated(inbox, Duration.ofSeconds(3));
    assertThat(kit.persistenceTestKit().persistedInStorage("Inbox|" + user)).as("registered, then the stop's flush")
        .hasSize(2)
        .last().isEqualTo(new Inbox.Advanced(Map.of(), Map.of(1, Map.of(conversationId, 7L))));
  }

  @Test
  void aSnapshotWrittenBeforeCursorsWereKeptIsReadWithNone() throws Exception {
    var serializer = (SerializerWithStringManifest) SerializationExtension.get(testKit.system())
        .serializerFor(Inbox.State.class);
    Inbox.State current = new Inbox.State(Map.of(1, 5L), Map.of(conversationId, 3L),
        Map.of(conversationId, new Inbox.Markers(4, 2)), Map.of());
    // the same state as the release before wrote it: no cursors field
    ObjectMapper cbor = new ObjectMapper(new CBORFactory());
    var old = cbor.readTree(serializer.toBinary(current));
    ((ObjectNode) old).remove("cursors");
    assertThat(old.has("devices")).isTrue();

    Object read = serializer.fromBinary(cbor.writeValueAsBytes(old), serializer.manifest(current));

    assertThat(read).isEqualTo(current);
  }

  private void register(int... devices) {
    for (int device : devices) {
      kit.<Inbox.Registration>runCommand(r -> new Inbox.RegisterDevice(device, r));
    }
  }

  private Inbox.Resumption resumed(int device) {
    return kit.<Inbox.Resumption>runCommand(r -> new Inbox.Resume(device, r)).reply();
  }

  private Map<String, Long> listed() {
    return kit.<Inbox.Conversations>runCommand(Inbox.ListConversations::new).reply().joinedAt();
  }

  private Inbox.Markers markers() {
    return kit.<Inbox.Markers>runCommand(r -> new Inbox.GetReceipts(conversationId, r)).reply();
  }
}
