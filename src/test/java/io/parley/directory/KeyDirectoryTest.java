package io.parley.directory;

import static org.assertj.core.api.Assertions.assertThat;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import io.parley.config.ParleySettings.DirectorySettings;
import io.parley.directory.KeyDirectory.AddPreKeys;
import io.parley.directory.KeyDirectory.Bundles;
import io.parley.directory.KeyDirectory.ClaimAll;
import io.parley.directory.KeyDirectory.ClaimOne;
import io.parley.directory.KeyDirectory.Claimed;
import io.parley.directory.KeyDirectory.Command;
import io.parley.directory.KeyDirectory.DeviceRemoved;
import io.parley.directory.KeyDirectory.Devices;
import io.parley.directory.KeyDirectory.Event;
import io.parley.directory.KeyDirectory.GetDevices;
import io.parley.directory.KeyDirectory.GetStatus;
import io.parley.directory.KeyDirectory.KeysPublished;
import io.parley.directory.KeyDirectory.PreKeysAdded;
import io.parley.directory.KeyDirectory.PreKeysClaimed;
import io.parley.directory.KeyDirectory.PutKeys;
import io.parley.directory.KeyDirectory.Reason;
import io.parley.directory.KeyDirectory.Rejected;
import io.parley.directory.KeyDirectory.RemoveDevice;
import io.parley.directory.KeyDirectory.Removed;
import io.parley.directory.KeyDirectory.Reply;
import io.parley.directory.KeyDirectory.State;
import io.parley.directory.KeyDirectory.Status;
import io.parley.directory.KeyDirectory.Stored;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.IntStream;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.persistence.testkit.javadsl.EventSourcedBehaviorTestKit;
import org.apache.pekko.persistence.testkit.javadsl.EventSourcedBehaviorTestKit.CommandResultWithReply;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The account directory's rules, one command at a time, through jackson-cbor like in a cluster. */
class KeyDirectoryTest {
  private static final Config CONFIG = ConfigFactory.parseResources("serialization.conf")
      .withFallback(EventSourcedBehaviorTestKit.config());
  private static final DirectorySettings SETTINGS =
      new DirectorySettings(60, Duration.ofMinutes(1), 10, 100, 1000, Duration.ofMinutes(5), Duration.ofSeconds(30));
  private static final int MAX_DEVICES = 3;
  private static final AtomicInteger IDS = new AtomicInteger();
  private static final Clock CLOCK = Clock.fixed(Instant.parse("2025-01-01T00:00:00Z"), ZoneOffset.UTC);

  private static ActorTestKit testKit;

  private final Notices notices = new Notices();
  private String accountId;
  private EventSourcedBehaviorTestKit<Command, Event, State> kit;

  /** Remembers what the directory tells the cluster. */
  static final class Notices implements DirectoryNotices {
    final List<DeviceDirectory.DeviceList> lists = new CopyOnWriteArrayList<>();
    final List<List<Integer>> low = new CopyOnWriteArrayList<>();
    final List<Integer> removed = new CopyOnWriteArrayList<>();

    @Override
    public void listChanged(DeviceDirectory.DeviceList list) {
      lists.add(list);
    }

    @Override
    public void keysLow(String accountId, int device, int remaining) {
      low.add(List.of(device, remaining));
    }

    @Override
    public void deviceRemoved(String accountId, int device) {
      removed.add(device);
    }
  }

  @BeforeAll
  static void startTestKit() {
    testKit = ActorTestKit.create("KeyDirectoryTest", CONFIG);
  }

  @AfterAll
  static void stopTestKit() {
    testKit.shutdownTestKit();
  }

  @BeforeEach
  void newAccount() {
    accountId = "u_test" + IDS.incrementAndGet();
    kit = EventSourcedBehaviorTestKit.create(testKit.system(),
        KeyDirectory.create(accountId, SETTINGS, MAX_DEVICES, CLOCK, notices),
        EventSourcedBehaviorTestKit.enabledSerializationSettings());
  }

  // ---- fixtures: the entity does not check key material, the HTTP layer does ----

  private static byte[] bytes(int length, int seed) {
    byte[] bytes = new byte[length];
    for (int i = 0; i < length; i++) {
      bytes[i] = (byte) (seed * 31 + i);
    }
    return bytes;
  }

  private static List<PreKey> preKeys(int firstId, int count) {
    return IntStream.range(firstId, firstId + count).mapToObj(id -> new PreKey(id, bytes(33, id))).toList();
  }

  private static DeviceKeys keys(int seed, int preKeys) {
    return new DeviceKeys(4711 + seed, bytes(33, seed), new SignedPreKey(1, bytes(33, seed + 1), bytes(64, seed)),
        new SignedPreKey(1, bytes(1569, seed + 2), bytes(64, seed + 3)), preKeys(1, preKeys));
  }

  private CommandResultWithReply<Command, Event, State, Reply> put(int device, DeviceKeys keys) {
    return kit.runCommand(replyTo -> new PutKeys(device, keys, replyTo));
  }

  private CommandResultWithReply<Command, Event, State, Reply> claimOne(int device) {
    return kit.runCommand(replyTo -> new ClaimOne(device, replyTo));
  }

  private int stored(int device) {
    return kit.getState().devices().get(device).oneTimePreKeys().size();
  }

  // ---- publishing ----

  @Test
  void aNewDeviceIsAddedToTheListAndAnnounced() {
    var result = put(1, keys(1, 5));

    assertThat(result.reply()).isEqualTo(new Stored(1, 5));
    assertThat(result.event()).isEqualTo(new KeysPublished(1, keys(1, 5), CLOCK.millis()));
    assertThat(result.state().version()).isEqualTo(1);
    assertThat(notices.lists).hasSize(1);
    assertThat(notices.lists.get(0).devices()).containsExactly(1);
    assertThat(notices.lists.get(0).version()).isEqualTo(1);
  }

  @Test
  void aReinstallReplacesTheKeysWithoutChangingTheList() {
    put(1, keys(1, 5));
    var result = put(1, keys(2, 2));

    assertThat(result.reply()).isEqualTo(new Stored(1, 2));
    assertThat(result.state().devices().get(1)).isEqualTo(keys(2, 2));
    assertThat(result.state().version()).isEqualTo(1);
    assertThat(notices.lists).hasSize(1);
  }

  @Test
  void theDeviceLimitRefusesAnotherDeviceButNotAReinstall() {
    for (int device = 1; device <= MAX_DEVICES; device++) {
      put(device, keys(device, 1));
    }
    var refused = put(MAX_DEVICES + 1, keys(9, 1));
    assertThat(refused.reply()).isEqualTo(new Rejected(Reason.TOO_MANY_DEVICES, "at most 3 devices per account"));
    assertThat(refused.hasNoEvents()).isTrue();
    assertThat(put(2, keys(9, 1)).reply()).isEqualTo(new Stored(2, 1));
  }

  // ---- claims ----

  @Test
  void aClaimHandsOutTheOldestPreKeyOnceAndPersistsThat() {
    put(1, keys(1, 3));

    var first = claimOne(1);
    var second = claimOne(1);

    assertThat(((Bundles) first.reply()).bundles().get(0).oneTimePreKey()).isEqualTo(new PreKey(1, bytes(33, 1)));
    assertThat(first.event()).isEqualTo(new PreKeysClaimed(List.of(new Claimed(1, 1)), CLOCK.millis()));
    assertThat(((Bundles) second.reply()).bundles().get(0).oneTimePreKey().keyId()).isEqualTo(2);
    assertThat(stored(1)).isEqualTo(1);
  }

  @Test
  void withoutPreKeysTheBundleHasOnlyTheLastResortKeysAndNothingIsPersisted() {
    put(1, keys(1, 0));

    var result = claimOne(1);

    KeyDirectory.Bundle bundle = ((Bundles) result.reply()).bundles().get(0);
    assertThat(bundle.oneTimePreKey()).isNull();
    assertThat(bundle.kyberPreKey()).isEqualTo(keys(1, 0).kyberPreKey());
    assertThat(bundle.signedPreKey()).isEqualTo(keys(1, 0).signedPreKey());
    assertThat(bundle.registrationId()).isEqualTo(4712);
    assertThat(result.hasNoEvents()).isTrue();
  }

  @Test
  void claimingAllDevicesTakesOnePreKeyFromEachDeviceThatHasOne() {
    put(2, keys(2, 1));
    put(1, keys(1, 0));

    var result = kit.<Reply>runCommand(ClaimAll::new);

    assertThat(((Bundles) result.reply()).bundles()).extracting(KeyDirectory.Bundle::device).containsExactly(1, 2);
    assertThat(result.event()).isEqualTo(new PreKeysClaimed(List.of(new Claimed(2, 1)), CLOCK.millis()));
  }

  @Test
  void aClaimThatLeavesFewerThanTheLowMarkTellsTheDevice() {
    put(1, keys(1, 11));

    claimOne(1);
    assertThat(notices.low).isEmpty();
    claimOne(1);
    assertThat(notices.low).containsExactly(List.of(1, 9));
  }

  @Test
  void claimsForAnAccountWithoutDevicesOrForAMissingDeviceAreRefused() {
    assertThat(((Rejected) kit.<Reply>runCommand(ClaimAll::new).reply()).reason()).isEqualTo(Reason.UNKNOWN_ACCOUNT);
    assertThat(((Rejected) claimOne(1).reply()).reason()).isEqualTo(Reason.UNKNOWN_ACCOUNT);
    put(1, keys(1, 1));
    assertThat(((Rejected) claimOne(2).reply()).reason()).isEqualTo(Reason.UNKNOWN_DEVICE);
  }

  // ---- adding and rotating ----

  @Test
  void addedPreKeysQueueBehindTheStoredOnesAndARetryChangesNothing() {
    put(1, keys(1, 2));
    var added = kit.<Reply>runCommand(replyTo -> new AddPreKeys(1, preKeys(10, 3), null, null, null, replyTo));
    assertThat(added.reply()).isEqualTo(new Stored(1, 5));
    assertThat(added.event()).isInstanceOf(PreKeysAdded.class);

    var retried = kit.<Reply>runCommand(replyTo -> new AddPreKeys(1, preKeys(10, 3), null, null, null, replyTo));
    assertThat(retried.reply()).isEqualTo(new Stored(1, 5));
    assertThat(retried.hasNoEvents()).isTrue();
    assertThat(kit.getState().devices().get(1).oneTimePreKeys()).extracting(PreKey::keyId)
        .containsExactly(1, 2, 10, 11, 12);
  }

  @Test
  void aStoredIdWithAnotherKeyAndMoreThanTwoHundredAreRefused() {
    put(1, keys(1, 100));
    List<PreKey> clash = List.of(new PreKey(5, bytes(33, 99)));
    var conflicting = kit.<Reply>runCommand(replyTo -> new AddPreKeys(1, clash, null, null, null, replyTo));
    assertThat(((Rejected) conflicting.reply()).reason()).isEqualTo(Reason.INVALID_KEYS);

    kit.<Reply>runCommand(replyTo -> new AddPreKeys(1, preKeys(101, 100), null, null, null, replyTo));
    var overCap = kit.<Reply>runCommand(replyTo -> new AddPreKeys(1, preKeys(201, 1), null, null, null, replyTo));
    assertThat(((Rejected) overCap.reply()).reason()).isEqualTo(Reason.INVALID_REQUEST);
    assertThat(stored(1)).isEqualTo(KeyDirectory.MAX_STORED_PREKEYS);
  }

  @Test
  void rotationNeedsTheIdentityKeyItWasVerifiedWith() {
    put(1, keys(1, 1));
    SignedPreKey rotated = new SignedPreKey(2, bytes(33, 50), bytes(64, 51));

    var stale = kit.<Reply>runCommand(replyTo -> new AddPreKeys(1, List.of(), rotated, null, bytes(33, 7), replyTo));
    assertThat(((Rejected) stale.reply()).reason()).isEqualTo(Reason.INVALID_KEYS);

    var rotatedNow = kit.<Reply>runCommand(replyTo ->
        new AddPreKeys(1, List.of(), rotated, null, bytes(33, 1), replyTo));
    assertThat(rotatedNow.reply()).isEqualTo(new Stored(1, 1));
    assertThat(kit.getState().devices().get(1).signedPreKey()).isEqualTo(rotated);
    assertThat(kit.getState().devices().get(1).kyberPreKey()).isEqualTo(keys(1, 1).kyberPreKey());
  }

  // ---- status, list, removal, recovery ----

  @Test
  void statusSaysWhenPreKeysAreLow() {
    put(1, keys(1, 10));
    Status status = (Status) kit.<Reply>runCommand(replyTo -> new GetStatus(1, replyTo)).reply();
    assertThat(status.oneTimePreKeys()).isEqualTo(10);
    assertThat(status.low()).isFalse();
    assertThat(status.identityKey()).isEqualTo(bytes(33, 1));
    claimOne(1);
    assertThat(((Status) kit.<Reply>runCommand(replyTo -> new GetStatus(1, replyTo)).reply()).low()).isTrue();
    assertThat(((Rejected) kit.<Reply>runCommand(replyTo -> new GetStatus(2, replyTo)).reply()).reason())
        .isEqualTo(Reason.UNKNOWN_DEVICE);
  }

  @Test
  void removingADeviceDropsItsKeysAndTellsTheCluster() {
    put(1, keys(1, 3));
    put(2, keys(2, 3));

    var removed = kit.<Reply>runCommand(replyTo -> new RemoveDevice(2, replyTo));

    assertThat(removed.reply()).isEqualTo(new Removed(2));
    assertThat(removed.event()).isEqualTo(new DeviceRemoved(2, CLOCK.millis()));
    assertThat(kit.<Reply>runCommand(GetDevices::new).reply()).isEqualTo(new Devices(List.of(1), 3));
    assertThat(notices.removed).containsExactly(2);
    assertThat(notices.lists.get(notices.lists.size() - 1).devices()).containsExactly(1);
    assertThat(((Rejected) kit.<Reply>runCommand(replyTo -> new RemoveDevice(2, replyTo)).reply()).reason())
        .isEqualTo(Reason.UNKNOWN_DEVICE);
  }

  @Test
  void theStateIsRebuiltFromTheJournal() {
    put(1, keys(1, 4));
    put(3, keys(3, 2));
    claimOne(1);
    kit.<Reply>runCommand(replyTo -> new AddPreKeys(3, preKeys(20, 1), null, null, null, replyTo));
    kit.<Reply>runCommand(replyTo -> new RemoveDevice(1, replyTo));
    State before = kit.getState();

    kit.restart();

    assertThat(kit.getState()).isEqualTo(before);
    assertThat(kit.<Reply>runCommand(GetDevices::new).reply()).isEqualTo(new Devices(List.of(3), 3));
    List<Integer> ids = new ArrayList<>();
    for (int i = 0; i < 3; i++) {
      KeyDirectory.Bundle bundle = ((Bundles) claimOne(3).reply()).bundles().get(0);
      ids.add(bundle.oneTimePreKey() == null ? 0 : bundle.oneTimePreKey().keyId());
    }
    assertThat(ids).containsExactly(1, 2, 20);
  }
}
