package io.parley.directory;

import com.fasterxml.jackson.annotation.JsonSubTypes;
import com.fasterxml.jackson.annotation.JsonTypeInfo;
import io.parley.config.ParleySettings.DirectorySettings;
import io.parley.serialization.CborSerializable;
import java.time.Clock;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.cluster.sharding.typed.ClusterShardingSettings;
import org.apache.pekko.cluster.sharding.typed.javadsl.ClusterSharding;
import org.apache.pekko.cluster.sharding.typed.javadsl.Entity;
import org.apache.pekko.cluster.sharding.typed.javadsl.EntityTypeKey;
import org.apache.pekko.persistence.typed.PersistenceId;
import org.apache.pekko.persistence.typed.javadsl.CommandHandler;
import org.apache.pekko.persistence.typed.javadsl.Effect;
import org.apache.pekko.persistence.typed.javadsl.EventHandler;
import org.apache.pekko.persistence.typed.javadsl.EventSourcedBehavior;
import org.apache.pekko.persistence.typed.javadsl.RetentionCriteria;

/**
 * One account's key directory: the devices of the account and the public keys each has published. It is
 * the account's single writer, so a claim hands each one-time prekey to exactly one requester without a
 * transaction or an atomic database update: claims of one account are processed one after another, and a
 * claim is answered only once the prekey's removal is persisted. Keys arrive here already checked (lengths,
 * type bytes, signatures); this entity enforces what needs its state: the device limit, the number of
 * stored prekeys and distinct key ids.
 */
public final class KeyDirectory
    extends EventSourcedBehavior<KeyDirectory.Command, KeyDirectory.Event, KeyDirectory.State> {

  public static final EntityTypeKey<Command> ENTITY_KEY = EntityTypeKey.create(Command.class, "KeyDirectory");

  /** One-time prekeys one device may have stored. */
  public static final int MAX_STORED_PREKEYS = 200;

  // ---- commands ----
  public sealed interface Command extends CborSerializable {}

  /** Creates the device or replaces all its keys (a reinstall). */
  public record PutKeys(int device, DeviceKeys keys, ActorRef<Reply> replyTo) implements Command {}

  /**
   * Adds one-time prekeys and, when given (non-null), rotates the signed prekey and the Kyber prekey, whose
   * signatures were verified against {@code verifiedWith}: refused if the device's identity key is no
   * longer that one (a reinstall came in between).
   */
  public record AddPreKeys(int device, List<PreKey> oneTimePreKeys, SignedPreKey signedPreKey,
                           SignedPreKey kyberPreKey, byte[] verifiedWith, ActorRef<Reply> replyTo)
      implements Command {}

  public record RemoveDevice(int device, ActorRef<Reply> replyTo) implements Command {}

  /** The bundles of all devices, each with one claimed one-time prekey while the device has any. */
  public record ClaimAll(ActorRef<Reply> replyTo) implements Command {}

  /** The bundle of one device, with one claimed one-time prekey while it has any. */
  public record ClaimOne(int device, ActorRef<Reply> replyTo) implements Command {}

  public record GetStatus(int device, ActorRef<Reply> replyTo) implements Command {}

  public record GetDevices(ActorRef<Reply> replyTo) implements Command {}

  // ---- replies ----
  public sealed interface Reply extends CborSerializable {}

  public record Stored(int device, int oneTimePreKeys) implements Reply {}

  /** The owner's view of a device, with its identity key (to verify rotated signed prekeys against). */
  public record Status(int device, int oneTimePreKeys, boolean low, byte[] identityKey) implements Reply {}

  public record Removed(int device) implements Reply {}

  public record Bundles(List<Bundle> bundles) implements Reply {}

  /** A device's prekey bundle; {@code oneTimePreKey} is null when the device has none left. */
  public record Bundle(int device, int registrationId, byte[] identityKey, SignedPreKey signedPreKey,
                       SignedPreKey kyberPreKey, PreKey oneTimePreKey) implements CborSerializable {}

  /** The account's device ids in ascending order. */
  public record Devices(List<Integer> devices, long version) implements Reply {}

  public enum Reason { UNKNOWN_ACCOUNT, UNKNOWN_DEVICE, TOO_MANY_DEVICES, INVALID_KEYS, INVALID_REQUEST }

  public record Rejected(Reason reason, String message) implements Reply {}

  // ---- events ----
  @JsonTypeInfo(use = JsonTypeInfo.Id.NAME, property = "kind")
  @JsonSubTypes({
    @JsonSubTypes.Type(value = KeysPublished.class, name = "published"),
    @JsonSubTypes.Type(value = PreKeysAdded.class, name = "added"),
    @JsonSubTypes.Type(value = PreKeysClaimed.class, name = "claimed"),
    @JsonSubTypes.Type(value = DeviceRemoved.class, name = "removed")
  })
  public sealed interface Event extends CborSerializable {
    long at();
  }

  public record KeysPublished(int device, DeviceKeys keys, long at) implements Event {}

  public record PreKeysAdded(int device, List<PreKey> oneTimePreKeys, SignedPreKey signedPreKey,
                             SignedPreKey kyberPreKey, long at) implements Event {}

  public record PreKeysClaimed(List<Claimed> claimed, long at) implements Event {}

  public record Claimed(int device, int keyId) implements CborSerializable {}

  public record DeviceRemoved(int device, long at) implements Event {}

  // ---- state ----

  /** {@code version} counts the changes of the device list (devices added or removed). */
  public record State(Map<Integer, DeviceKeys> devices, long version) implements CborSerializable {
    List<Integer> deviceIds() {
      return List.copyOf(new TreeSet<>(devices.keySet()));
    }

    State with(int device, DeviceKeys keys, boolean listChanged) {
      Map<Integer, DeviceKeys> copy = new HashMap<>(devices);
      copy.put(device, keys);
      return new State(Map.copyOf(copy), listChanged ? version + 1 : version);
    }

    State without(int device) {
      Map<Integer, DeviceKeys> copy = new HashMap<>(devices);
      copy.remove(device);
      return new State(Map.copyOf(copy), version + 1);
    }
  }

  private final String accountId;
  private final DirectorySettings settings;
  private final int maxDevices;
  private final Clock clock;
  private final DirectoryNotices notices;

  public static void init(ActorSystem<?> system, DirectorySettings settings, int maxDevices, Clock clock,
                          DirectoryNotices notices) {
    ClusterShardingSettings sharding = ClusterShardingSettings.create(system);
    ClusterSharding.get(system).init(Entity.of(ENTITY_KEY, ctx ->
        create(ctx.getEntityId(), settings, maxDevices, clock, notices))
        .withSettings(sharding.withPassivationStrategy(
            sharding.passivationStrategySettings().withIdleEntityPassivation(settings.passivateIdleAfter()))));
  }

  public static Behavior<Command> create(String accountId, DirectorySettings settings, int maxDevices, Clock clock,
                                         DirectoryNotices notices) {
    return Behaviors.setup(ctx -> new KeyDirectory(accountId, settings, maxDevices, clock, notices));
  }

  public static PersistenceId persistenceId(String accountId) {
    return PersistenceId.of(ENTITY_KEY.name(), accountId);
  }

  private KeyDirectory(String accountId, DirectorySettings settings, int maxDevices, Clock clock,
                       DirectoryNotices notices) {
    super(persistenceId(accountId));
    this.accountId = accountId;
    this.settings = settings;
    this.maxDevices = maxDevices;
    this.clock = clock;
    this.notices = notices;
  }

  @Override
  public State emptyState() {
    return new State(Map.of(), 0);
  }

  /** The journal only has to rebuild the state: events behind a snapshot are deleted. */
  @Override
  public RetentionCriteria retentionCriteria() {
    return RetentionCriteria.snapshotEvery(settings.snapshotEvery(), 2).withDeleteEventsOnSnapshot();
  }

  @Override
  public CommandHandler<Command, Event, State> commandHandler() {
    return newCommandHandlerBuilder().forAnyState()
        .onCommand(PutKeys.class, this::onPutKeys)
        .onCommand(AddPreKeys.class, this::onAddPreKeys)
        .onCommand(RemoveDevice.class, this::onRemoveDevice)
        .onCommand(ClaimAll.class, this::onClaimAll)
        .onCommand(ClaimOne.class, this::onClaimOne)
        .onCommand(GetStatus.class, this::onGetStatus)
        .onCommand(GetDevices.class, (state, cmd) ->
            Effect().reply(cmd.replyTo(), new Devices(state.deviceIds(), state.version())))
        .build();
  }

  private Effect<Event, State> onPutKeys(State state, PutKeys cmd) {
    boolean added = !state.devices().containsKey(cmd.device());
    if (added && state.devices().size() >= maxDevices) {
      return reject(cmd.replyTo(), Reason.TOO_MANY_DEVICES, "at most " + maxDevices + " devices per account");
    }
    if (cmd.keys().oneTimePreKeys().size() > MAX_STORED_PREKEYS) {
      return reject(cmd.replyTo(), Reason.INVALID_REQUEST,
          "at most " + MAX_STORED_PREKEYS + " one-time prekeys are stored per device");
    }
    return Effect().persist(new KeysPublished(cmd.device(), cmd.keys(), now()))
        .thenRun(next -> {
          if (added) {
            notices.listChanged(list(next));
          }
        })
        .thenReply(cmd.replyTo(), next -> new Stored(cmd.device(), next.devices().get(cmd.device())
            .oneTimePreKeys().size()));
  }

  /**
   * A prekey already stored with the same id and key is skipped, so a retried upload changes nothing;
   * the same id with another key is refused.
   */
  private Effect<Event, State> onAddPreKeys(State state, AddPreKeys cmd) {
    DeviceKeys keys = state.devices().get(cmd.device());
    if (keys == null) {
      return reject(cmd.replyTo(), Reason.UNKNOWN_DEVICE, "the device has no keys; PUT its key set first");
    }
    boolean rotation = cmd.signedPreKey() != null || cmd.kyberPreKey() != null;
    if (rotation && !Arrays.equals(cmd.verifiedWith(), keys.identityKey())) {
      return reject(cmd.replyTo(), Reason.INVALID_KEYS, "the device's identity key changed; check the signatures again");
    }
    Map<Integer, PreKey> stored = new HashMap<>();
    keys.oneTimePreKeys().forEach(k -> stored.put(k.keyId(), k));
    List<PreKey> fresh = new ArrayList<>();
    for (PreKey preKey : cmd.oneTimePreKeys()) {
      PreKey existing = stored.get(preKey.keyId());
      if (existing == null) {
        fresh.add(preKey);
      } else if (!existing.equals(preKey)) {
        return reject(cmd.replyTo(), Reason.INVALID_KEYS,
            "one-time prekey id " + preKey.keyId() + " is already stored with another key");
      }
    }
    if (keys.oneTimePreKeys().size() + fresh.size() > MAX_STORED_PREKEYS) {
      return reject(cmd.replyTo(), Reason.INVALID_REQUEST, "at most " + MAX_STORED_PREKEYS
          + " one-time prekeys are stored per device; " + keys.oneTimePreKeys().size() + " are stored");
    }
    boolean rotates = (cmd.signedPreKey() != null && !cmd.signedPreKey().equals(keys.signedPreKey()))
        || (cmd.kyberPreKey() != null && !cmd.kyberPreKey().equals(keys.kyberPreKey()));
    if (fresh.isEmpty() && !rotates) {
      return Effect().reply(cmd.replyTo(), new Stored(cmd.device(), keys.oneTimePreKeys().size()));
    }
    return Effect().persist(new PreKeysAdded(cmd.device(), List.copyOf(fresh), cmd.signedPreKey(),
            cmd.kyberPreKey(), now()))
        .thenReply(cmd.replyTo(), next -> new Stored(cmd.device(), next.devices().get(cmd.device())
            .oneTimePreKeys().size()));
  }

  private Effect<Event, State> onRemoveDevice(State state, RemoveDevice cmd) {
    if (!state.devices().containsKey(cmd.device())) {
      return reject(cmd.replyTo(), Reason.UNKNOWN_DEVICE, "no such device");
    }
    return Effect().persist(new DeviceRemoved(cmd.device(), now()))
        .thenRun(next -> {
          notices.listChanged(list(next));
          notices.deviceRemoved(accountId, cmd.device());
        })
        .thenReply(cmd.replyTo(), next -> new Removed(cmd.device()));
  }

  private Effect<Event, State> onClaimAll(State state, ClaimAll cmd) {
    if (state.devices().isEmpty()) {
      return reject(cmd.replyTo(), Reason.UNKNOWN_ACCOUNT, "the account has no devices");
    }
    return claim(state, state.deviceIds(), cmd.replyTo());
  }

  private Effect<Event, State> onClaimOne(State state, ClaimOne cmd) {
    if (state.devices().isEmpty()) {
      return reject(cmd.replyTo(), Reason.UNKNOWN_ACCOUNT, "the account has no devices");
    }
    if (!state.devices().containsKey(cmd.device())) {
      return reject(cmd.replyTo(), Reason.UNKNOWN_DEVICE, "no such device");
    }
    return claim(state, List.of(cmd.device()), cmd.replyTo());
  }

  /** Hands out the oldest one-time prekey of each device; answers once their removal is persisted. */
  private Effect<Event, State> claim(State state, List<Integer> devices, ActorRef<Reply> replyTo) {
    List<Bundle> bundles = new ArrayList<>(devices.size());
    List<Claimed> claimed = new ArrayList<>();
    for (int device : devices) {
      DeviceKeys keys = state.devices().get(device);
      PreKey oneTime = keys.oneTimePreKeys().isEmpty() ? null : keys.oneTimePreKeys().get(0);
      if (oneTime != null) {
        claimed.add(new Claimed(device, oneTime.keyId()));
      }
      bundles.add(new Bundle(device, keys.registrationId(), keys.identityKey(), keys.signedPreKey(),
          keys.kyberPreKey(), oneTime));
    }
    Bundles answer = new Bundles(List.copyOf(bundles));
    if (claimed.isEmpty()) {
      return Effect().reply(replyTo, answer); // every device is down to its last-resort keys
    }
    return Effect().persist(new PreKeysClaimed(List.copyOf(claimed), now()))
        .thenRun(next -> claimed.forEach(c -> {
          int remaining = next.devices().get(c.device()).oneTimePreKeys().size();
          if (remaining < settings.lowPreKeys()) {
            notices.keysLow(accountId, c.device(), remaining);
          }
        }))
        .thenReply(replyTo, next -> answer);
  }

  private Effect<Event, State> onGetStatus(State state, GetStatus cmd) {
    DeviceKeys keys = state.devices().get(cmd.device());
    if (keys == null) {
      return reject(cmd.replyTo(), Reason.UNKNOWN_DEVICE, "no such device");
    }
    int count = keys.oneTimePreKeys().size();
    return Effect().reply(cmd.replyTo(), new Status(cmd.device(), count, count < settings.lowPreKeys(),
        keys.identityKey()));
  }

  private Effect<Event, State> reject(ActorRef<Reply> replyTo, Reason reason, String message) {
    return Effect().reply(replyTo, new Rejected(reason, message));
  }

  private DeviceDirectory.DeviceList list(State state) {
    return new DeviceDirectory.DeviceList(accountId, new TreeSet<>(state.devices().keySet()), state.version());
  }

  private long now() {
    return clock.millis();
  }

  @Override
  public EventHandler<State, Event> eventHandler() {
    return newEventHandlerBuilder().forAnyState()
        .onEvent(KeysPublished.class, (state, e) ->
            state.with(e.device(), e.keys(), !state.devices().containsKey(e.device())))
        .onEvent(PreKeysAdded.class, (state, e) -> state.with(e.device(),
            state.devices().get(e.device()).withPreKeys(e.oneTimePreKeys(), e.signedPreKey(), e.kyberPreKey()),
            false))
        .onEvent(PreKeysClaimed.class, (state, e) -> {
          State next = state;
          for (Claimed c : e.claimed()) {
            DeviceKeys keys = next.devices().get(c.device());
            if (keys != null) {
              next = next.with(c.device(), keys.withoutPreKey(c.keyId()), false);
            }
          }
          return next;
        })
        .onEvent(DeviceRemoved.class, (state, e) -> state.without(e.device()))
        .build();
  }
}
