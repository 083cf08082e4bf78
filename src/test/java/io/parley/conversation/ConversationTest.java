package io.parley.conversation;

import static org.assertj.core.api.Assertions.assertThat;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import io.parley.config.ParleySettings.ConversationSettings;
import io.parley.conversation.Conversation.Accepted;
import io.parley.conversation.Conversation.Active;
import io.parley.conversation.Conversation.AddMember;
import io.parley.conversation.Conversation.Command;
import io.parley.conversation.Conversation.Create;
import io.parley.conversation.Conversation.Created;
import io.parley.conversation.Conversation.DeviceMismatch;
import io.parley.conversation.Conversation.MarkDelivered;
import io.parley.conversation.Conversation.MarkRead;
import io.parley.conversation.Conversation.Empty;
import io.parley.conversation.Conversation.Event;
import io.parley.conversation.Conversation.GetInfo;
import io.parley.conversation.Conversation.Info;
import io.parley.conversation.Conversation.MemberAdded;
import io.parley.conversation.Conversation.MemberRemoved;
import io.parley.conversation.Conversation.MessagePosted;
import io.parley.conversation.Conversation.Post;
import io.parley.conversation.Conversation.Posted;
import io.parley.conversation.Conversation.Rejected;
import io.parley.conversation.Conversation.RemoveMember;
import io.parley.conversation.Conversation.Reply;
import io.parley.conversation.Conversation.Snapshot;
import io.parley.conversation.Conversation.State;
import io.parley.conversation.Conversation.Typing;
import io.parley.identity.DeviceAddress;
import io.parley.protocol.ErrorCode;
import io.parley.protocol.ReceiptKind;
import io.parley.testing.MutableClock;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.SerializationTestKit;
import org.apache.pekko.japi.Pair;
import org.apache.pekko.persistence.testkit.SnapshotMeta;
import org.apache.pekko.persistence.testkit.javadsl.EventSourcedBehaviorTestKit;
import org.apache.pekko.persistence.testkit.javadsl.EventSourcedBehaviorTestKit.CommandResult;
import org.apache.pekko.persistence.testkit.javadsl.EventSourcedBehaviorTestKit.CommandResultWithReply;
import org.apache.pekko.persistence.testkit.javadsl.EventSourcedBehaviorTestKit.SerializationSettings;
import org.apache.pekko.serialization.SerializationExtension;
import org.apache.pekko.serialization.Serializer;
import org.apache.pekko.serialization.jackson.JacksonCborSerializer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class ConversationTest {
  private static final String ALICE = account("alice");
  private static final String BOB = account("bob");
  private static final String CAROL = account("carol");
  private static final String DAVE = account("dave");
  private static final String MALLORY = account("mallory");

  private static final DeviceAddress ALICE_1 = new DeviceAddress(ALICE, 1);
  private static final DeviceAddress ALICE_2 = new DeviceAddress(ALICE, 2);
  private static final DeviceAddress BOB_1 = new DeviceAddress(BOB, 1);
  private static final DeviceAddress BOB_2 = new DeviceAddress(BOB, 2);
  private static final DeviceAddress CAROL_1 = new DeviceAddress(CAROL, 1);
  private static final DeviceAddress MALLORY_1 = new DeviceAddress(MALLORY, 1);

  private static final ConversationSettings DEFAULTS = settings(Duration.ofHours(24), 10_000, 1_000);
  private static final AtomicInteger IDS = new AtomicInteger();

  /* The persistence testkit's journal and snapshot store with Parley's bindings: CborSerializable -> jackson-cbor. */
  private static final Config CONFIG = ConfigFactory.parseResources("serialization.conf")
      .withFallback(EventSourcedBehaviorTestKit.config());

  /*
   * Every command and event goes through jackson-cbor. State is never serialized: a snapshot stores the
   * SnapshotAdapter's Snapshot record, which the snapshot tests serialize.
   */
  private static final SerializationSettings VERIFY_MESSAGES =
      EventSourcedBehaviorTestKit.enabledSerializationSettings().withVerifyState(false);

  private static ActorTestKit testKit;

  private final MutableClock clock = new MutableClock(Instant.parse("2025-01-01T00:00:00Z"));
  private final RecordingFanout fanout = new RecordingFanout();
  private long lastTag;
  private final FakeDevices devices = new FakeDevices();
  private String conversationId;
  private EventSourcedBehaviorTestKit<Command, Event, State> kit;

  @BeforeAll
  static void startTestKit() {
    testKit = ActorTestKit.create("ConversationTest", CONFIG);
  }

  @AfterAll
  static void stopTestKit() {
    testKit.shutdownTestKit();
  }

  @BeforeEach
  void newConversation() {
    kit = conversation(DEFAULTS);
  }

  // ---- create ----

  @Test
  void createGivesSeqOneAndIncludesTheCreator() {
    CommandResultWithReply<Command, Event, State, Reply> result = create(ALICE, BOB);

    assertThat(result.reply()).isEqualTo(new Accepted(1, false));
    Created created = result.eventOfType(Created.class);
    assertThat(created.by()).isEqualTo(ALICE);
    assertThat(created.participants()).containsExactly(ALICE, BOB);
    assertThat(created.at()).isEqualTo(clock.millis());
    Active state = result.stateOfType(Active.class);
    assertThat(state.lastSeq()).isEqualTo(1);
    assertThat(state.createdBy()).isEqualTo(ALICE);
    assertThat(fanout.published).hasSize(1);
    assertThat(fanout.lastPublished().event()).isEqualTo(new ConversationEvent(conversationId, 1, created));
    assertThat(fanout.lastPublished().audience()).containsExactly(ALICE, BOB);
  }

  @Test
  void createListsEachParticipantOnce() {
    Created created = create(ALICE, ALICE, BOB, BOB).eventOfType(Created.class);

    assertThat(created.participants()).containsExactly(ALICE, BOB);
  }

  @Test
  void createNeedsAnotherParticipant() {
    assertRejected(create(ALICE), ErrorCode.INVALID_REQUEST);
    assertRejected(create(ALICE, ALICE), ErrorCode.INVALID_REQUEST);

    assertThat(kit.getState()).isInstanceOf(Empty.class);
    assertThat(journal()).isEmpty();
    assertThat(fanout.published).isEmpty();
  }

  @Test
  void createRespectsMaxParticipants() {
    assertRejected(create(ALICE, BOB, CAROL, DAVE, MALLORY, account("erin")), ErrorCode.TOO_MANY_PARTICIPANTS);
    assertThat(journal()).isEmpty();

    CommandResultWithReply<Command, Event, State, Reply> atTheLimit = create(ALICE, BOB, CAROL, DAVE, MALLORY);
    assertThat(atTheLimit.reply()).isEqualTo(new Accepted(1, false));
    assertThat(atTheLimit.eventOfType(Created.class).participants()).hasSize(5);
  }

  @Test
  void aRetriedCreateIsADuplicate() {
    create(ALICE, BOB, CAROL);

    CommandResultWithReply<Command, Event, State, Reply> retried = create(ALICE, CAROL, BOB);

    assertThat(retried.reply()).isEqualTo(new Accepted(1, true));
    assertThat(retried.hasNoEvents()).isTrue();
    assertThat(fanout.published).hasSize(1);
  }

  @Test
  void createWithATakenIdIsRejected() {
    create(ALICE, BOB);

    assertRejected(create(BOB, ALICE), ErrorCode.CONVERSATION_EXISTS);
    assertRejected(create(MALLORY, BOB), ErrorCode.CONVERSATION_EXISTS);
    assertRejected(create(ALICE, CAROL), ErrorCode.CONVERSATION_EXISTS);
    assertThat(info(ALICE)).isEqualTo(new Info(List.of(ALICE, BOB), 1));
  }

  // ---- posting ----

  @Test
  void postsGetConsecutiveSeqs() {
    create(ALICE, BOB);

    List<Long> seqs = new ArrayList<>();
    for (int i = 0; i < 5; i++) {
      PostResult result = post(i % 2 == 0 ? ALICE_1 : BOB_1, key(i));
      assertThat(result.events()).hasSize(1);
      seqs.add(((Accepted) result.reply()).seq());
    }

    assertThat(seqs).containsExactly(2L, 3L, 4L, 5L, 6L);
    assertThat(kit.getState()).isInstanceOfSatisfying(Active.class, s -> assertThat(s.lastSeq()).isEqualTo(6));
    assertThat(fanout.published).extracting(p -> p.event().seq()).containsExactly(1L, 2L, 3L, 4L, 5L, 6L);
    assertThat(journal()).hasSize(6);
  }

  @Test
  void aPostPersistsTheEnvelopesAsSent() {
    create(ALICE, BOB);
    devices.set(ALICE, 1, 2);
    SealedEnvelope toBob = envelope(BOB_1);
    SealedEnvelope toAlicesOtherDevice = envelope(ALICE_2);

    PostResult result = post(ALICE_1, key(1), toBob, toAlicesOtherDevice);

    MessagePosted posted = result.eventOfType(MessagePosted.class);
    assertThat(posted.sender()).isEqualTo(ALICE_1);
    assertThat(posted.idempotencyKey()).isEqualTo(key(1));
    assertThat(posted.at()).isEqualTo(clock.millis());
    assertThat(posted.envelopes()).usingRecursiveFieldByFieldElementComparator()
        .containsExactly(toBob, toAlicesOtherDevice);
  }

  @Test
  void aMessageIsPublishedToEveryParticipant() {
    create(ALICE, BOB, CAROL);

    post(BOB_1, key(1));

    RecordingFanout.Published published = fanout.lastPublished();
    assertThat(published.event().seq()).isEqualTo(2);
    assertThat(published.event().conversationId()).isEqualTo(conversationId);
    assertThat(published.event().event()).isInstanceOf(MessagePosted.class);
    assertThat(published.audience()).containsExactlyInAnyOrder(ALICE, BOB, CAROL);
  }

  @Test
  void aRepeatedKeyReturnsTheOriginalSeqAndPersistsNothing() {
    create(ALICE, BOB);
    post(ALICE_1, key(1));
    post(ALICE_1, key(2));

    PostResult again = post(ALICE_1, key(1));
    PostResult fromOtherDevice = post(ALICE_2, key(1));

    assertThat(again.reply()).isEqualTo(new Accepted(2, true));
    assertThat(again.hasNoEvents()).isTrue();
    assertThat(fromOtherDevice.reply()).as("the key belongs to the user, not the device").isEqualTo(new Accepted(2, true));
    assertThat(fromOtherDevice.hasNoEvents()).isTrue();
    assertThat(fanout.published).hasSize(3);
    assertThat(journal()).hasSize(3);
  }

  @Test
  void theSameKeyFromAnotherUserIsANewMessage() {
    create(ALICE, BOB);
    post(ALICE_1, key(1));

    PostResult bobs = post(BOB_1, key(1));

    assertThat(bobs.reply()).isEqualTo(new Accepted(3, false));
    assertThat(bobs.events()).hasSize(1);
    assertThat(post(BOB_1, key(1)).reply()).isEqualTo(new Accepted(3, true));
    assertThat(post(ALICE_1, key(1)).reply()).isEqualTo(new Accepted(2, true));
  }

  @Test
  void aKeyIsForgottenOnceTheWindowHasPassed() {
    kit = conversation(settings(Duration.ofHours(1), 10_000, 1_000));
    create(ALICE, BOB);
    post(ALICE_1, key(1));

    clock.advance(Duration.ofHours(1));
    assertThat(post(ALICE_1, key(1)).reply()).as("at the end of the window").isEqualTo(new Accepted(2, true));

    clock.advance(Duration.ofMillis(1));
    PostResult afterWindow = post(ALICE_1, key(1));
    assertThat(afterWindow.reply()).isEqualTo(new Accepted(3, false));
    assertThat(afterWindow.events()).hasSize(1);
    assertThat(post(ALICE_1, key(1)).reply()).as("remembered again, with its new seq").isEqualTo(new Accepted(3, true));
  }

  @Test
  void beyondMaxKeysTheOldestKeyIsForgotten() {
    kit = conversation(settings(Duration.ofHours(24), 2, 1_000));
    create(ALICE, BOB);
    post(ALICE_1, key(1));
    post(ALICE_1, key(2));
    post(BOB_1, key(3));

    assertThat(post(BOB_1, key(3)).reply()).isEqualTo(new Accepted(4, true));
    assertThat(post(ALICE_1, key(2)).reply()).isEqualTo(new Accepted(3, true));
    PostResult forgotten = post(ALICE_1, key(1));
    assertThat(forgotten.reply()).isEqualTo(new Accepted(5, false));
    assertThat(forgotten.events()).hasSize(1);
    assertThat(kit.getState()).isInstanceOfSatisfying(Active.class, s -> assertThat(s.dedup().size()).isEqualTo(2));
  }

  @Test
  void envelopesMayOnlyAddressParticipants() {
    create(ALICE, BOB);

    assertRejected(post(ALICE_1, key(1), envelope(BOB_1), envelope(MALLORY_1)), ErrorCode.UNKNOWN_RECIPIENT);

    assertThat(journal()).hasSize(1);
  }

  @Test
  void envelopesMustAddressDistinctDevicesOtherThanTheSender() {
    create(ALICE, BOB);

    assertRejected(post(ALICE_1, key(1), envelope(BOB_1), envelope(BOB_1)), ErrorCode.INVALID_ENVELOPE);
    assertRejected(post(ALICE_1, key(2), envelope(BOB_1), envelope(ALICE_1)), ErrorCode.INVALID_ENVELOPE);
    assertThat(journal()).hasSize(1);

    devices.set(ALICE, 1, 2);
    devices.set(BOB, 1, 2);
    assertThat(post(ALICE_1, key(3), envelope(BOB_1), envelope(BOB_2), envelope(ALICE_2)).reply())
        .isEqualTo(new Accepted(2, false));
  }

  @Test
  void aRejectedPostDoesNotUseItsKey() {
    create(ALICE, BOB);
    assertRejected(post(ALICE_1, key(1), envelope(MALLORY_1)), ErrorCode.UNKNOWN_RECIPIENT);

    assertThat(post(ALICE_1, key(1), envelope(BOB_1)).reply()).isEqualTo(new Accepted(2, false));
  }

  // ---- device lists ----

  @Test
  void aPostMustCoverEveryDeviceOfEveryParticipantAndARetryWithTheSameKeyThenSucceeds() {
    create(ALICE, BOB);
    devices.set(ALICE, 1, 2);
    devices.set(BOB, 1, 3);

    PostResult mismatched = post(ALICE_1, key(1), envelope(BOB_1),
        envelope(BOB_2));

    assertThat(mismatched.reply()).isEqualTo(new DeviceMismatch(List.of(ALICE_2, new DeviceAddress(BOB, 3)),
        List.of(BOB_2)));
    assertThat(mismatched.hasNoEvents()).isTrue();
    assertThat(journal()).hasSize(1);
    assertThat(fanout.published).hasSize(1);

    PostResult fixed = post(ALICE_1, key(1), envelope(BOB_1),
        envelope(new DeviceAddress(BOB, 3)), envelope(ALICE_2));
    assertThat(fixed.reply()).as("the rejected post did not use its key").isEqualTo(new Accepted(2, false));
    assertThat(fixed.events()).hasSize(1);
    assertThat(post(ALICE_1, key(1), envelope(BOB_1)).reply()).isEqualTo(new Accepted(2, true));
  }

  @Test
  void aPostThatMatchesTheCachedListsDoesNotReadTheDirectory() {
    create(ALICE, BOB);
    devices.set(ALICE, 1, 2);
    devices.set(BOB, 1);

    assertThat(post(ALICE_1, key(1), envelope(BOB_1), envelope(ALICE_2)).reply()).isEqualTo(new Accepted(2, false));
    assertThat(post(BOB_1, key(2), envelope(ALICE_1), envelope(ALICE_2)).reply()).isEqualTo(new Accepted(3, false));

    assertThat(devices.reads).isEmpty();
  }

  @Test
  void listsMissingFromTheCacheAreReadThroughOnce() {
    create(ALICE, BOB);

    assertThat(post(ALICE_1, key(1), envelope(BOB_1)).reply()).isEqualTo(new Accepted(2, false));
    assertThat(post(ALICE_1, key(2), envelope(BOB_1)).reply()).isEqualTo(new Accepted(3, false));

    assertThat(devices.reads).containsExactlyInAnyOrder(ALICE, BOB);
  }

  @Test
  void aCacheBehindTheDirectoryNeverRejectsACorrectPost() {
    create(ALICE, BOB);
    devices.set(BOB, 1);
    devices.set(ALICE, 1);
    devices.directory.put(BOB, java.util.Set.of(1, 2)); // Bob added a device; this node has not heard yet
    devices.directory.put(ALICE, java.util.Set.of(1, 2)); // and so did Alice, on her other device

    assertThat(post(ALICE_1, key(1), envelope(BOB_1), envelope(BOB_2), envelope(ALICE_2)).reply())
        .isEqualTo(new Accepted(2, false));
    assertThat(devices.reads).containsExactlyInAnyOrder(ALICE, BOB);

    devices.directory.put(BOB, java.util.Set.of(2)); // Bob unlinked device 1; the cache still lists it
    assertThat(post(ALICE_1, key(2), envelope(BOB_2), envelope(ALICE_2)).reply()).isEqualTo(new Accepted(3, false));
    assertThat(devices.cache.get(BOB)).as("the refresh updated the cache").containsExactly(2);
  }

  @Test
  void aMismatchIsOnlyReportedAfterTheDirectoryConfirmsIt() {
    create(ALICE, BOB);
    devices.set(BOB, 1);
    devices.set(ALICE, 1);
    devices.directory.put(BOB, java.util.Set.of(1, 2));
    DeviceAddress bob3 = new DeviceAddress(BOB, 3);

    PostResult result = post(ALICE_1, key(1), envelope(BOB_1),
        envelope(bob3));

    assertThat(result.reply()).as("judged on the directory's list, not the cached one")
        .isEqualTo(new DeviceMismatch(List.of(BOB_2), List.of(bob3)));
    assertThat(devices.reads).containsExactly(BOB);
    assertThat(journal()).hasSize(1);
  }

  @Test
  void anUnreachableDirectoryIsRetryableAndUsesNoKey() {
    create(ALICE, BOB);
    devices.set(ALICE, 1);
    devices.set(BOB, 1, 2);
    devices.directory.put(BOB, java.util.Set.of(1));
    devices.unavailable = true;

    assertRejected(post(ALICE_1, key(1), envelope(BOB_1)), ErrorCode.UNAVAILABLE);

    devices.unavailable = false;
    assertThat(post(ALICE_1, key(1), envelope(BOB_1)).reply()).isEqualTo(new Accepted(2, false));
  }

  @Test
  void aParticipantWithoutDevicesGetsNoEnvelopeAndAPostMayCarryNone() {
    create(ALICE, BOB);
    devices.set(ALICE, 1);
    devices.set(BOB);

    assertThat(post(ALICE_1, key(1)).reply()).isEqualTo(new Accepted(2, false));
    assertThat(post(ALICE_1, key(2), envelope(BOB_1)).reply())
        .isEqualTo(new DeviceMismatch(List.of(), List.of(BOB_1)));
  }

  // ---- receipts ----

  @Test
  void aReadReceiptGoesToTheReadersInboxWithTheOtherMembersAndPersistsNothing() {
    create(ALICE, BOB, CAROL);
    post(ALICE_1, key(1));

    CommandResultWithReply<Command, Event, State, Reply> read = kit.runCommand(replyTo -> new MarkRead(BOB_2, 2, replyTo));

    assertThat(read.reply()).isEqualTo(new Accepted(2, false));
    assertThat(read.hasNoEvents()).isTrue();
    assertThat(fanout.receipts).containsExactly(
        new RecordingFanout.ReceiptSent(conversationId, BOB, ReceiptKind.READ, 2, List.of(ALICE, CAROL)));
    assertThat(journal()).hasSize(2);
  }

  @Test
  void aReadReceiptIsRefusedBeyondTheLastSeqAndFromNonParticipants() {
    create(ALICE, BOB);

    assertRejected(kit.runCommand(replyTo -> new MarkRead(BOB_1, 2, replyTo)), ErrorCode.INVALID_REQUEST);
    assertRejected(kit.runCommand(replyTo -> new MarkRead(MALLORY_1, 1, replyTo)), ErrorCode.NOT_PARTICIPANT);
    kit.runCommand(new MarkDelivered(MALLORY_1, 1));

    assertThat(fanout.receipts).isEmpty();
  }

  @Test
  void aDeliveredReceiptIsCappedAtTheLastSeq() {
    create(ALICE, BOB);

    CommandResult<Command, Event, State> delivered = kit.runCommand(new MarkDelivered(BOB_1, 9));

    assertThat(delivered.hasNoEvents()).isTrue();
    assertThat(fanout.receipts).containsExactly(
        new RecordingFanout.ReceiptSent(conversationId, BOB, ReceiptKind.DELIVERED, 1, List.of(ALICE)));
  }

  // ---- who may do what ----

  @Test
  void nonParticipantsAreRejected() {
    create(ALICE, BOB);

    assertRejected(post(MALLORY_1, key(1), envelope(ALICE_1)), ErrorCode.NOT_PARTICIPANT);
    assertRejected(kit.runCommand(replyTo -> new GetInfo(MALLORY, replyTo)), ErrorCode.NOT_PARTICIPANT);
    assertRejected(kit.runCommand(replyTo -> new AddMember(MALLORY, MALLORY, replyTo)), ErrorCode.NOT_PARTICIPANT);
    assertRejected(kit.runCommand(replyTo -> new RemoveMember(MALLORY, BOB, replyTo)), ErrorCode.NOT_PARTICIPANT);
    assertRejected(kit.runCommand(replyTo -> new RemoveMember(MALLORY, MALLORY, replyTo)), ErrorCode.NOT_PARTICIPANT);

    assertThat(journal()).hasSize(1);
    assertThat(fanout.published).hasSize(1);
  }

  @Test
  void everyCommandOnAnUnknownConversationIsRejectedAndPersistsNothing() {
    PostResult posted = post(ALICE_1, key(1), envelope(BOB_1));
    assertRejected(posted, ErrorCode.UNKNOWN_CONVERSATION);
    assertThat(posted.state()).isInstanceOf(Empty.class);
    List<CommandResultWithReply<Command, Event, State, Reply>> results = List.of(
        kit.runCommand(replyTo -> new GetInfo(ALICE, replyTo)),
        kit.runCommand(replyTo -> new AddMember(ALICE, BOB, replyTo)),
        kit.runCommand(replyTo -> new RemoveMember(ALICE, BOB, replyTo)),
        kit.runCommand(replyTo -> new RemoveMember(ALICE, ALICE, replyTo)));
    CommandResult<Command, Event, State> typing = kit.runCommand(new Typing(ALICE_1, true));

    for (CommandResultWithReply<Command, Event, State, Reply> result : results) {
      assertRejected(result, ErrorCode.UNKNOWN_CONVERSATION);
      assertThat(result.state()).isInstanceOf(Empty.class);
    }
    assertThat(typing.hasNoEvents()).isTrue();
    assertThat(typing.state()).isInstanceOf(Empty.class);
    assertThat(journal()).isEmpty();
    assertThat(fanout.published).isEmpty();
    assertThat(fanout.typing).isEmpty();
  }

  @Test
  void getInfoListsParticipantsAndTheLastSeq() {
    create(ALICE, BOB);
    post(ALICE_1, key(1));

    CommandResultWithReply<Command, Event, State, Reply> result = kit.runCommand(replyTo -> new GetInfo(BOB, replyTo));

    assertThat(result.reply()).isEqualTo(new Info(List.of(ALICE, BOB), 2));
    assertThat(result.hasNoEvents()).isTrue();
  }

  // ---- membership ----

  @Test
  void anAddedMemberGetsItsOwnSeqAndCanPost() {
    create(ALICE, BOB);
    post(ALICE_1, key(1));

    CommandResultWithReply<Command, Event, State, Reply> added = add(BOB, CAROL);

    assertThat(added.reply()).isEqualTo(new Accepted(3, false));
    MemberAdded event = added.eventOfType(MemberAdded.class);
    assertThat(event.by()).isEqualTo(BOB);
    assertThat(event.user()).isEqualTo(CAROL);
    assertThat(fanout.lastPublished().event().seq()).isEqualTo(3);
    assertThat(fanout.lastPublished().audience()).containsExactlyInAnyOrder(ALICE, BOB, CAROL);
    assertThat(info(CAROL)).isEqualTo(new Info(List.of(ALICE, BOB, CAROL), 3));
    assertThat(post(CAROL_1, key(2)).reply()).isEqualTo(new Accepted(4, false));
  }

  @Test
  void addingAMemberTwiceIsADuplicate() {
    create(ALICE, BOB);
    add(ALICE, CAROL);
    post(ALICE_1, key(1));

    CommandResultWithReply<Command, Event, State, Reply> again = add(BOB, CAROL);

    assertThat(again.reply()).isEqualTo(new Accepted(3, true));
    assertThat(again.hasNoEvents()).isTrue();
  }

  @Test
  void addingRespectsMaxParticipants() {
    create(ALICE, BOB, CAROL, DAVE);
    assertThat(add(ALICE, MALLORY).reply()).isEqualTo(new Accepted(2, false));

    assertRejected(add(ALICE, account("erin")), ErrorCode.TOO_MANY_PARTICIPANTS);
    assertThat(journal()).hasSize(2);
  }

  @Test
  void theCreatorRemovesAMemberWhoThenCanNoLongerTakePart() {
    create(ALICE, BOB, CAROL);

    CommandResultWithReply<Command, Event, State, Reply> removed = remove(ALICE, BOB);

    assertThat(removed.reply()).isEqualTo(new Accepted(2, false));
    MemberRemoved event = removed.eventOfType(MemberRemoved.class);
    assertThat(event.by()).isEqualTo(ALICE);
    assertThat(event.user()).isEqualTo(BOB);
    assertThat(fanout.lastPublished().event().seq()).isEqualTo(2);
    assertThat(fanout.lastPublished().audience()).as("the removed member learns of it")
        .containsExactlyInAnyOrder(ALICE, BOB, CAROL);
    assertThat(info(ALICE)).isEqualTo(new Info(List.of(ALICE, CAROL), 2));

    assertRejected(post(BOB_1, key(1), envelope(ALICE_1)), ErrorCode.NOT_PARTICIPANT);
    assertRejected(kit.runCommand(replyTo -> new GetInfo(BOB, replyTo)), ErrorCode.NOT_PARTICIPANT);
    assertRejected(post(ALICE_1, key(2), envelope(BOB_1)), ErrorCode.UNKNOWN_RECIPIENT);
    assertThat(post(ALICE_1, key(3), envelope(CAROL_1)).reply()).isEqualTo(new Accepted(3, false));
    assertThat(fanout.lastPublished().audience()).containsExactlyInAnyOrder(ALICE, CAROL);
  }

  @Test
  void onlyTheCreatorRemovesOthers() {
    create(ALICE, BOB, CAROL);

    assertRejected(remove(BOB, CAROL), ErrorCode.NOT_PARTICIPANT);
    assertRejected(remove(BOB, ALICE), ErrorCode.NOT_PARTICIPANT);

    assertThat(journal()).hasSize(1);
    assertThat(info(ALICE).participants()).containsExactly(ALICE, BOB, CAROL);
  }

  @Test
  void anyoneMayLeave() {
    create(ALICE, BOB, CAROL);

    CommandResultWithReply<Command, Event, State, Reply> left = remove(BOB, BOB);

    assertThat(left.reply()).isEqualTo(new Accepted(2, false));
    assertThat(left.eventOfType(MemberRemoved.class).by()).isEqualTo(BOB);
    assertThat(fanout.lastPublished().audience()).containsExactlyInAnyOrder(ALICE, BOB, CAROL);
    assertThat(remove(ALICE, ALICE).reply()).as("the creator too").isEqualTo(new Accepted(3, false));
    assertThat(info(CAROL)).isEqualTo(new Info(List.of(CAROL), 3));
  }

  @Test
  void removingSomeoneWhoIsNotAMemberIsADuplicate() {
    create(ALICE, BOB, CAROL);
    remove(ALICE, BOB);

    CommandResultWithReply<Command, Event, State, Reply> again = remove(ALICE, BOB);

    assertThat(again.reply()).isEqualTo(new Accepted(2, true));
    assertThat(again.hasNoEvents()).isTrue();
  }

  @Test
  void aRemovedMemberCanBeAddedBack() {
    create(ALICE, BOB);
    remove(ALICE, BOB);

    assertThat(add(ALICE, BOB).reply()).isEqualTo(new Accepted(3, false));
    assertThat(post(BOB_1, key(1), envelope(ALICE_1)).reply()).isEqualTo(new Accepted(4, false));
  }

  // ---- typing ----

  @Test
  void typingGoesToEveryParticipantAndPersistsNothing() {
    create(ALICE, BOB, CAROL);

    CommandResult<Command, Event, State> result = kit.runCommand(new Typing(BOB_2, true));

    assertThat(result.hasNoEvents()).isTrue();
    assertThat(fanout.typing).containsExactly(
        new RecordingFanout.TypingSent(conversationId, BOB_2, true, List.of(ALICE, BOB, CAROL)));
    assertThat(fanout.published).hasSize(1);
  }

  @Test
  void typingFromANonParticipantIsDropped() {
    create(ALICE, BOB);

    CommandResult<Command, Event, State> result = kit.runCommand(new Typing(MALLORY_1, true));

    assertThat(result.hasNoEvents()).isTrue();
    assertThat(fanout.typing).isEmpty();
  }

  // ---- ephemeral frames ----

  @Test
  void anEphemeralGoesToTheFanOutAsAddressedAndPersistsNothingOrReadsNoDeviceList() {
    create(ALICE, BOB);
    devices.set(BOB, 1, 2);
    SealedEnvelope toBob = envelope(BOB_1);

    // bob's second device gets no envelope: an ephemeral is not checked against device lists
    CommandResultWithReply<Command, Event, State, Reply> result =
        kit.runCommand(replyTo -> new Conversation.Ephemeral(ALICE_1, List.of(toBob), replyTo));

    assertThat(result.reply()).isEqualTo(new Accepted(0, false));
    assertThat(result.hasNoEvents()).isTrue();
    assertThat(result.stateOfType(Active.class).lastSeq()).isEqualTo(1);
    assertThat(fanout.ephemerals).containsExactly(
        new RecordingFanout.EphemeralSent(conversationId, ALICE_1, List.of(toBob)));
    assertThat(devices.reads).isEmpty();
    assertThat(fanout.published).hasSize(1);
  }

  @Test
  void anEphemeralIsAddressedLikeAPostAndOnlyFromAParticipant() {
    create(ALICE, BOB);

    assertRejected(kit.runCommand(replyTo -> new Conversation.Ephemeral(MALLORY_1, List.of(envelope(BOB_1)),
        replyTo)), ErrorCode.NOT_PARTICIPANT);
    assertRejected(kit.runCommand(replyTo -> new Conversation.Ephemeral(ALICE_1, List.of(envelope(MALLORY_1)),
        replyTo)), ErrorCode.UNKNOWN_RECIPIENT);
    assertRejected(kit.runCommand(replyTo -> new Conversation.Ephemeral(ALICE_1, List.of(envelope(ALICE_1)),
        replyTo)), ErrorCode.INVALID_ENVELOPE);
    assertRejected(kit.runCommand(replyTo -> new Conversation.Ephemeral(ALICE_1,
        List.of(envelope(BOB_1), envelope(BOB_1)), replyTo)), ErrorCode.INVALID_ENVELOPE);
    assertThat(fanout.ephemerals).isEmpty();
  }

  @Test
  void anEphemeralToAnUnknownConversationIsRejected() {
    assertRejected(kit.runCommand(replyTo -> new Conversation.Ephemeral(ALICE_1, List.of(envelope(BOB_1)),
        replyTo)), ErrorCode.UNKNOWN_CONVERSATION);
  }

  // ---- recovery ----

  @Test
  void aRestartKeepsSeqAndRememberedKeys() {
    create(ALICE, BOB);
    post(ALICE_1, key(1));
    add(ALICE, CAROL);
    post(BOB_1, key(2));
    fanout.present.clear();

    State recovered = kit.restart().state();

    assertThat(recovered).isInstanceOfSatisfying(Active.class, s -> {
      assertThat(s.lastSeq()).isEqualTo(4);
      assertThat(s.participants()).containsExactly(ALICE, BOB, CAROL);
    });
    assertThat(fanout.present).as("each member is re-announced with the seq they joined at")
        .containsExactly(new RecordingFanout.Present(conversationId, Map.of(ALICE, 1L, BOB, 1L, CAROL, 3L)));
    PostResult again = post(ALICE_1, key(1));
    assertThat(again.reply()).isEqualTo(new Accepted(2, true));
    assertThat(again.hasNoEvents()).isTrue();
    assertThat(post(BOB_1, key(2)).reply()).isEqualTo(new Accepted(4, true));
    assertThat(post(CAROL_1, key(3)).reply()).isEqualTo(new Accepted(5, false));
  }

  @Test
  void aRestartKeepsTheRemovalOfAMember() {
    create(ALICE, BOB);
    remove(ALICE, BOB);

    kit.restart();

    assertRejected(post(BOB_1, key(1), envelope(ALICE_1)), ErrorCode.NOT_PARTICIPANT);
    assertThat(info(ALICE)).isEqualTo(new Info(List.of(ALICE), 2));
  }

  @Test
  void anEmptyConversationRecoversEmpty() {
    State recovered = kit.restart().state();

    assertThat(recovered).isInstanceOf(Empty.class);
    assertThat(fanout.present).isEmpty();
  }

  @Test
  void aSnapshotHoldsTheStateAsPlainLists() {
    kit = conversation(settings(Duration.ofHours(24), 10_000, 3));
    create(ALICE, BOB);
    post(ALICE_1, key(1));
    post(BOB_1, key(2));

    List<Pair<SnapshotMeta, Object>> stored = snapshots().persistedInStorage(persistenceId());

    assertThat(stored).hasSize(1);
    assertThat(stored.get(0).first().sequenceNr()).isEqualTo(3);
    Snapshot snapshot = (Snapshot) stored.get(0).second();
    assertThat(serializerFor(snapshot)).isInstanceOf(JacksonCborSerializer.class);
    assertThat(new SerializationTestKit(testKit.system()).verifySerialization(snapshot, true)).isEqualTo(snapshot);
    assertThat(snapshot.createdBy()).isEqualTo(ALICE);
    assertThat(snapshot.participants()).containsExactly(ALICE, BOB);
    assertThat(snapshot.lastSeq()).isEqualTo(3);
    assertThat(snapshot.dedup()).extracting(DedupWindow.Entry::seq).containsExactly(2L, 3L);
    assertThat(snapshot.dedup()).extracting(DedupWindow.Entry::at).containsOnly(clock.millis());
  }

  @Test
  void recoveryFromASnapshotAloneKeepsSeqAndRememberedKeys() {
    kit = conversation(settings(Duration.ofHours(24), 10_000, 3));
    create(ALICE, BOB);
    post(ALICE_1, key(1));
    post(BOB_1, key(2));
    // keep only the snapshot, so that recovery must go through the SnapshotAdapter
    kit.persistenceTestKit().clearByIdPreservingSeqNumbers(persistenceId());
    assertThat(journal()).isEmpty();

    State recovered = kit.restart().state();

    assertThat(recovered).isInstanceOfSatisfying(Active.class, s -> {
      assertThat(s.createdBy()).isEqualTo(ALICE);
      assertThat(s.participants()).containsExactly(ALICE, BOB);
      assertThat(s.lastSeq()).isEqualTo(3);
      assertThat(s.dedup().size()).isEqualTo(2);
    });
    PostResult again = post(ALICE_1, key(1));
    assertThat(again.reply()).isEqualTo(new Accepted(2, true));
    assertThat(again.hasNoEvents()).isTrue();
    assertThat(post(BOB_1, key(2)).reply()).isEqualTo(new Accepted(3, true));
    assertThat(post(ALICE_1, key(3)).reply()).as("seq continues after the snapshot").isEqualTo(new Accepted(4, false));
  }

  @Test
  void recoveryFromASnapshotAndLaterEvents() {
    kit = conversation(settings(Duration.ofHours(24), 10_000, 3));
    create(ALICE, BOB);
    for (int i = 1; i <= 6; i++) {
      post(i % 2 == 0 ? ALICE_1 : BOB_1, key(i));
    }
    add(ALICE, CAROL);
    post(CAROL_1, key(7));

    State recovered = kit.restart().state();

    assertThat(snapshots().persistedInStorage(persistenceId())).extracting(p -> p.first().sequenceNr())
        .contains(6L);
    assertThat(recovered).isInstanceOfSatisfying(Active.class, s -> {
      assertThat(s.lastSeq()).isEqualTo(9);
      assertThat(s.participants()).containsExactly(ALICE, BOB, CAROL);
    });
    for (int i = 1; i <= 6; i++) {
      assertThat(post(i % 2 == 0 ? ALICE_1 : BOB_1, key(i)).reply()).isEqualTo(new Accepted(i + 1, true));
    }
    assertThat(post(CAROL_1, key(7)).reply()).isEqualTo(new Accepted(9, true));
    assertThat(post(CAROL_1, key(8)).reply()).isEqualTo(new Accepted(10, false));
  }

  @Test
  void aSnapshotKeepsOnlyKeysStillInsideTheBound() {
    kit = conversation(settings(Duration.ofHours(24), 2, 4));
    create(ALICE, BOB);
    post(ALICE_1, key(1));
    post(ALICE_1, key(2));
    post(ALICE_1, key(3));
    kit.persistenceTestKit().clearByIdPreservingSeqNumbers(persistenceId());

    kit.restart();

    assertThat(post(ALICE_1, key(3)).reply()).isEqualTo(new Accepted(4, true));
    assertThat(post(ALICE_1, key(2)).reply()).isEqualTo(new Accepted(3, true));
    assertThat(post(ALICE_1, key(1)).reply()).isEqualTo(new Accepted(5, false));
  }

  // ---- what crosses the network ----

  @Test
  void repliesAndPublishedEventsSerialize() {
    SerializationTestKit serialization = new SerializationTestKit(testKit.system());
    long at = clock.millis();
    List<Object> messages = List.of(
        new Accepted(7, true),
        new Rejected(ErrorCode.NOT_PARTICIPANT, "not a participant of this conversation"),
        new Info(List.of(ALICE, BOB), 3),
        new DeviceMismatch(List.of(BOB_1), List.of(BOB_2)),
        new ConversationEvent(conversationId, 1, new Created(ALICE, List.of(ALICE, BOB), at)),
        new ConversationEvent(conversationId, 2, new MemberAdded(ALICE, CAROL, at)),
        new ConversationEvent(conversationId, 3, new MemberRemoved(ALICE, CAROL, at)),
        new Snapshot(ALICE, List.of(ALICE, BOB), Map.of(ALICE, 1L, BOB, 1L), 3,
            List.of(new DedupWindow.Entry(ALICE + " " + key(1), 2, at))));
    for (Object message : messages) {
      assertThat(serializerFor(message)).isInstanceOf(JacksonCborSerializer.class);
      assertThat(serialization.verifySerialization(message, true)).isEqualTo(message);
    }

    MessagePosted posted = new MessagePosted(ALICE_1, key(1), List.of(envelope(BOB_1)), at);
    ConversationEvent back = serialization.verifySerialization(new ConversationEvent(conversationId, 4, posted), false);
    MessagePosted postedBack = (MessagePosted) back.event();
    assertThat(postedBack.sender()).isEqualTo(ALICE_1);
    assertThat(postedBack.envelopes().get(0).body()).isEqualTo(posted.envelopes().get(0).body());
  }

  // ---- helpers ----

  private EventSourcedBehaviorTestKit<Command, Event, State> conversation(ConversationSettings settings) {
    conversationId = "conv-" + IDS.incrementAndGet();
    return EventSourcedBehaviorTestKit.create(testKit.system(),
        Conversation.create(conversationId, settings, clock, fanout, devices), VERIFY_MESSAGES);
  }

  private CommandResultWithReply<Command, Event, State, Reply> create(String by, String... others) {
    return kit.runCommand(replyTo -> new Create(by, List.of(others), replyTo));
  }

  private CommandResultWithReply<Command, Event, State, Reply> add(String by, String user) {
    return kit.runCommand(replyTo -> new AddMember(by, user, replyTo));
  }

  private CommandResultWithReply<Command, Event, State, Reply> remove(String by, String user) {
    return kit.runCommand(replyTo -> new RemoveMember(by, user, replyTo));
  }

  private PostResult post(DeviceAddress sender, String key, SealedEnvelope... envelopes) {
    long tag = ++lastTag;
    return new PostResult(tag, kit.runCommand(replyTo -> new Post(sender, key, List.of(envelopes), tag, replyTo)));
  }

  /** A post's result, with its reply taken out of the {@link Posted} that carries the post's tag. */
  private record PostResult(long tag, CommandResultWithReply<Command, Event, State, Posted> result) {
    Reply reply() {
      assertThat(result.reply().tag()).as("the answer carries the post's tag").isEqualTo(tag);
      return result.reply().reply();
    }

    List<Event> events() {
      return result.events();
    }

    boolean hasNoEvents() {
      return result.hasNoEvents();
    }

    State state() {
      return result.state();
    }

    <E extends Event> E eventOfType(Class<E> type) {
      return result.eventOfType(type);
    }

    <S extends State> S stateOfType(Class<S> type) {
      return result.stateOfType(type);
    }
  }

  /** A post with one envelope for every device of every participant but the sender's. */
  private PostResult post(DeviceAddress sender, String key) {
    List<SealedEnvelope> envelopes = new ArrayList<>();
    if (kit.getState() instanceof Active active) {
      for (String user : active.participants()) {
        devices.devicesOf(user).stream().sorted().map(device -> new DeviceAddress(user, device))
            .filter(device -> !device.equals(sender))
            .forEach(device -> envelopes.add(envelope(device)));
      }
    }
    return post(sender, key, envelopes.toArray(SealedEnvelope[]::new));
  }

  private Info info(String asUser) {
    return kit.<Reply>runCommand(replyTo -> new GetInfo(asUser, replyTo)).replyOfType(Info.class);
  }

  private static void assertRejected(CommandResultWithReply<Command, Event, State, Reply> result, ErrorCode code) {
    assertRejected(result.reply(), result.hasNoEvents(), code);
  }

  private static void assertRejected(PostResult result, ErrorCode code) {
    assertRejected(result.reply(), result.hasNoEvents(), code);
  }

  private static void assertRejected(Reply reply, boolean hasNoEvents, ErrorCode code) {
    assertThat(reply).isInstanceOfSatisfying(Rejected.class, r -> assertThat(r.code()).isEqualTo(code));
    assertThat(hasNoEvents).isTrue();
  }

  private List<Object> journal() {
    return kit.persistenceTestKit().persistedInStorage(persistenceId());
  }

  private org.apache.pekko.persistence.testkit.javadsl.SnapshotTestKit snapshots() {
    return kit.snapshotTestKit().orElseThrow();
  }

  private static Serializer serializerFor(Object message) {
    return SerializationExtension.get(testKit.system()).findSerializerFor(message);
  }

  private String persistenceId() {
    return Conversation.persistenceId(conversationId).id();
  }

  private static ConversationSettings settings(Duration dedupWindow, int dedupMaxKeys, int snapshotEvery) {
    return new ConversationSettings(dedupWindow, dedupMaxKeys, 5, snapshotEvery, Duration.ofSeconds(3));
  }

  private static SealedEnvelope envelope(DeviceAddress to) {
    return new SealedEnvelope(to.user(), to.device(), 2, ("ciphertext for " + to.entityId()).getBytes(StandardCharsets.UTF_8));
  }

  private static String key(int n) {
    return "idem-key-" + n;
  }

  private static String account(String name) {
    return "u_" + (name + "0000000000000000000000").substring(0, 22);
  }
}
