package io.parley.inbox;

import io.parley.conversation.Conversation;
import io.parley.conversation.ConversationEvent;
import io.parley.identity.DeviceAddress;
import io.parley.protocol.ReceiptKind;
import io.parley.serialization.CborSerializable;
import java.time.Clock;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import org.apache.pekko.Done;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.TimerScheduler;
import org.apache.pekko.cluster.sharding.typed.ClusterShardingSettings;
import org.apache.pekko.cluster.sharding.typed.javadsl.ClusterSharding;
import org.apache.pekko.cluster.sharding.typed.javadsl.Entity;
import org.apache.pekko.cluster.sharding.typed.javadsl.EntityTypeKey;
import org.apache.pekko.persistence.typed.PersistenceId;
import org.apache.pekko.persistence.typed.javadsl.CommandHandler;
import org.apache.pekko.persistence.typed.javadsl.Effect;
import org.apache.pekko.persistence.typed.javadsl.EffectBuilder;
import org.apache.pekko.persistence.typed.javadsl.EventHandler;
import org.apache.pekko.persistence.typed.javadsl.EventSourcedBehavior;
import org.apache.pekko.persistence.typed.javadsl.RetentionCriteria;

/**
 * One user's inbox: which devices the user has and which conversations the user is in (with the seq at
 * which the user joined). It is not on the message path: conversations deliver straight to device sessions,
 * and tell the inbox only of membership changes.
 *
 * <p>It also keeps the user's receipt markers (per conversation, the highest seq the user has received on
 * any device and the highest the user has read) and each device's delivery cursors (per conversation, the
 * highest seq the device has acknowledged). Both advance at the pace of acknowledgements, so they are
 * persisted together, one {@link Advanced} event per batch ({@code flushInterval} apart, and when the inbox
 * stops), rather than one event per acknowledgement and one journal per device; the conversation tells the
 * other participants' devices of a receipt itself, and a device session sends its cursors in batches of its
 * own (ADR 0026).
 */
public final class Inbox extends EventSourcedBehavior<Inbox.Command, Inbox.Event, Inbox.State> {

  public static final EntityTypeKey<Command> ENTITY_KEY = EntityTypeKey.create(Command.class, "Inbox");

  public sealed interface Command extends CborSerializable {}

  /**
   * A persisted membership event (created, added, removed) of a conversation this user is or was in: kept,
   * then handed to each of the user's devices, in this order, so that a device's listing of its
   * conversations and the event never miss each other.
   */
  public record MembershipChanged(ConversationEvent event) implements Command {}

  /** The conversation lists this user as a member since {@code fromSeq} (sent after a conversation recovers). */
  public record MemberOf(String conversationId, long fromSeq) implements Command {}

  public record RegisterDevice(int device, ActorRef<Registration> replyTo) implements Command {}

  public record ListConversations(ActorRef<Conversations> replyTo) implements Command {}

  /** What a device session needs to go live: the user's conversations and this device's cursors. */
  public record Resume(int device, ActorRef<Resumption> replyTo) implements Command {}

  /** The device has acknowledged these seqs: kept now, persisted with the next batch. */
  public record AdvanceCursors(int device, Map<String, Long> cursors) implements Command {}

  /** As {@link AdvanceCursors}, persisted at once with everything pending, then answered (a session that stops). */
  public record SaveCursors(int device, Map<String, Long> cursors, ActorRef<Done> replyTo) implements Command {}

  /** This user has received or read up to {@code seq}. */
  public record MarkReceipt(String conversationId, ReceiptKind kind, long seq) implements Command {}

  public record GetReceipts(String conversationId, ActorRef<Markers> replyTo) implements Command {}

  /** Sharding's stop message: persists the markers and cursors not yet persisted, then stops. */
  public enum Stop implements Command { INSTANCE }

  private enum Flush implements Command { INSTANCE }

  /** The device was unlinked from the key directory: it gets nothing more. */
  public record RemoveDevice(int device) implements Command {}

  public sealed interface Registration extends CborSerializable {}

  public record Registered(int device) implements Registration {}

  public record TooManyDevices(int limit) implements Registration {}

  /** conversation id → the seq from which this user sees the conversation. */
  public record Conversations(Map<String, Long> joinedAt) implements CborSerializable {}

  /** {@code joinedAt} as in {@link Conversations}; {@code cursors}: conversation id → the device's acked seq. */
  public record Resumption(Map<String, Long> joinedAt, Map<String, Long> cursors) implements CborSerializable {}

  /** A user's receipt markers in one conversation (0: nothing yet). */
  public record Markers(long delivered, long read) implements CborSerializable {
    public static final Markers NONE = new Markers(0, 0);

    public long of(ReceiptKind kind) {
      return kind == ReceiptKind.DELIVERED ? delivered : read;
    }

    Markers with(ReceiptKind kind, long seq) {
      return kind == ReceiptKind.DELIVERED ? new Markers(seq, read) : new Markers(delivered, seq);
    }

    Markers max(Markers other) {
      return new Markers(Math.max(delivered, other.delivered), Math.max(read, other.read));
    }
  }

  public sealed interface Event extends CborSerializable {}

  public record DeviceRegistered(int device, long at) implements Event {}

  public record DeviceRemoved(int device) implements Event {}

  public record Joined(String conversationId, long fromSeq) implements Event {}

  public record Left(String conversationId) implements Event {}

  /** Markers that advanced since the last batch, per conversation (written before ADR 0026; read on recovery). */
  public record ReceiptsAdvanced(Map<String, Markers> markers) implements Event {}

  /** What advanced since the last batch: markers per conversation, cursors per device and conversation. */
  public record Advanced(Map<String, Markers> markers, Map<Integer, Map<String, Long>> cursors) implements Event {}

  public record State(Map<Integer, Long> devices, Map<String, Long> conversations, Map<String, Markers> receipts,
                      Map<Integer, Map<String, Long>> cursors)
      implements CborSerializable {
    public State {
      receipts = receipts == null ? Map.of() : receipts;
      cursors = cursors == null ? Map.of() : cursors;
    }

    State withDevice(int device, long at) {
      Map<Integer, Long> copy = new HashMap<>(devices);
      copy.put(device, at);
      return new State(Map.copyOf(copy), conversations, receipts, cursors);
    }

    State withoutDevice(int device) {
      Map<Integer, Long> copy = new HashMap<>(devices);
      copy.remove(device);
      Map<Integer, Map<String, Long>> left = new HashMap<>(cursors);
      left.remove(device);
      return new State(Map.copyOf(copy), conversations, receipts, Map.copyOf(left));
    }

    State withConversation(String id, long fromSeq) {
      Map<String, Long> copy = new HashMap<>(conversations);
      copy.put(id, fromSeq);
      return new State(devices, Map.copyOf(copy), receipts, cursors);
    }

    State withoutConversation(String id) {
      Map<String, Long> copy = new HashMap<>(conversations);
      copy.remove(id);
      Map<String, Markers> markers = new HashMap<>(receipts);
      markers.remove(id);
      Map<Integer, Map<String, Long>> kept = new HashMap<>();
      cursors.forEach((device, own) -> {
        Map<String, Long> rest = new HashMap<>(own);
        rest.remove(id);
        if (!rest.isEmpty()) {
          kept.put(device, Map.copyOf(rest));
        }
      });
      return new State(devices, Map.copyOf(copy), Map.copyOf(markers), Map.copyOf(kept));
    }

    State withReceipts(Map<String, Markers> advanced) {
      Map<String, Markers> copy = new HashMap<>(receipts);
      advanced.forEach((id, markers) -> copy.merge(id, markers, Markers::max));
      return new State(devices, conversations, Map.copyOf(copy), cursors);
    }

    State withCursors(Map<Integer, Map<String, Long>> advanced) {
      Map<Integer, Map<String, Long>> copy = new HashMap<>(cursors);
      advanced.forEach((device, own) -> copy.put(device, Map.copyOf(ahead(copy.getOrDefault(device, Map.of()), own))));
      return new State(devices, conversations, receipts, Map.copyOf(copy));
    }

    Markers markers(String conversationId) {
      return receipts.getOrDefault(conversationId, Markers.NONE);
    }

    Map<String, Long> cursorsOf(int device) {
      return cursors.getOrDefault(device, Map.of());
    }
  }

  /** {@code base} with each of {@code advanced}'s seqs where it is higher. */
  private static Map<String, Long> ahead(Map<String, Long> base, Map<String, Long> advanced) {
    Map<String, Long> merged = new HashMap<>(base);
    advanced.forEach((id, seq) -> merged.merge(id, seq, Math::max));
    return merged;
  }

  private final String user;
  private final int maxDevices;
  private final Clock clock;
  private final TimerScheduler<Command> timers;
  private final DeviceDelivery devices;
  private final Duration flushInterval;
  /** Runtime only: markers advanced since the last {@link Advanced}, merged over the state when read. */
  private final Map<String, Markers> unflushed = new HashMap<>();
  /** Runtime only: cursors advanced since the last {@link Advanced}, per device, merged over the state when read. */
  private final Map<Integer, Map<String, Long>> unflushedCursors = new HashMap<>();

  /** {@code passivateIdleAfter}: how long an inbox stays without a message (a hello wakes it; an idle connection does not need it). */
  public static void init(ActorSystem<?> system, int maxDevices, Clock clock, Duration flushInterval,
                          DeviceDelivery devices, Duration passivateIdleAfter) {
    ClusterShardingSettings sharding = ClusterShardingSettings.create(system);
    ClusterSharding.get(system).init(Entity.of(ENTITY_KEY, ctx ->
        create(ctx.getEntityId(), maxDevices, clock, flushInterval, devices))
        .withStopMessage(Stop.INSTANCE)
        .withSettings(sharding.withPassivationStrategy(
            sharding.passivationStrategySettings().withIdleEntityPassivation(passivateIdleAfter))));
  }

  public static Behavior<Command> create(String user, int maxDevices, Clock clock, Duration flushInterval,
                                         DeviceDelivery devices) {
    return Behaviors.withTimers(timers -> new Inbox(user, maxDevices, clock, timers, flushInterval, devices));
  }

  private Inbox(String user, int maxDevices, Clock clock, TimerScheduler<Command> timers, Duration flushInterval,
                DeviceDelivery devices) {
    super(PersistenceId.of(ENTITY_KEY.name(), user));
    this.user = user;
    this.devices = devices;
    this.maxDevices = maxDevices;
    this.clock = clock;
    this.timers = timers;
    this.flushInterval = flushInterval;
  }

  @Override
  public State emptyState() {
    return new State(Map.of(), Map.of(), Map.of(), Map.of());
  }

  /** The state is all in the snapshot: batches of markers and cursors are not history to keep. */
  @Override
  public RetentionCriteria retentionCriteria() {
    return RetentionCriteria.snapshotEvery(100, 2).withDeleteEventsOnSnapshot();
  }

  @Override
  public CommandHandler<Command, Event, State> commandHandler() {
    return newCommandHandlerBuilder().forAnyState()
        .onCommand(MembershipChanged.class, this::onMembershipChanged)
        .onCommand(MemberOf.class, this::onMemberOf)
        .onCommand(RegisterDevice.class, this::onRegisterDevice)
        .onCommand(RemoveDevice.class, this::onRemoveDevice)
        .onCommand(ListConversations.class, (state, cmd) ->
            Effect().reply(cmd.replyTo(), new Conversations(state.conversations())))
        .onCommand(MarkReceipt.class, this::onMarkReceipt)
        .onCommand(Resume.class, (state, cmd) ->
            Effect().reply(cmd.replyTo(), new Resumption(state.conversations(), cursors(state, cmd.device()))))
        .onCommand(AdvanceCursors.class, (state, cmd) -> {
          advanceCursors(state, cmd.device(), cmd.cursors());
          return Effect().none();
        })
        .onCommand(SaveCursors.class, (state, cmd) -> {
          advanceCursors(state, cmd.device(), cmd.cursors());
          return flush().thenReply(cmd.replyTo(), next -> Done.getInstance());
        })
        .onCommand(GetReceipts.class, (state, cmd) -> Effect().reply(cmd.replyTo(), markers(state, cmd.conversationId())))
        .onCommand(Flush.class, (state, cmd) -> flush())
        .onCommand(Stop.class, (state, cmd) -> flush().thenStop())
        .build();
  }

  /** The single writer of this user's markers: only an advance is kept, so none goes backwards. */
  private Effect<Event, State> onMarkReceipt(State state, MarkReceipt cmd) {
    Markers current = markers(state, cmd.conversationId());
    if (cmd.seq() <= current.of(cmd.kind())) {
      return Effect().none();
    }
    unflushed.put(cmd.conversationId(), current.with(cmd.kind(), cmd.seq()));
    scheduleFlush();
    return Effect().none();
  }

  /**
   * Keeps the cursors that are ahead of this device's, for a device the user has. Not filtered by membership:
   * a session may acknowledge a new conversation's first messages before this inbox has kept the join.
   */
  private void advanceCursors(State state, int device, Map<String, Long> cursors) {
    if (!state.devices().containsKey(device)) {
      return; // unlinked (or never registered): nothing of it is kept
    }
    Map<String, Long> known = cursors(state, device);
    Map<String, Long> ahead = new HashMap<>();
    cursors.forEach((id, seq) -> {
      if (seq > known.getOrDefault(id, 0L)) {
        ahead.put(id, seq);
      }
    });
    if (!ahead.isEmpty()) {
      unflushedCursors.computeIfAbsent(device, d -> new HashMap<>()).putAll(ahead);
      scheduleFlush();
    }
  }

  private void scheduleFlush() {
    if (!timers.isTimerActive(Flush.INSTANCE)) {
      timers.startSingleTimer(Flush.INSTANCE, flushInterval);
    }
  }

  /** One event for every marker and cursor that advanced since the last. */
  private EffectBuilder<Event, State> flush() {
    timers.cancel(Flush.INSTANCE);
    if (unflushed.isEmpty() && unflushedCursors.isEmpty()) {
      return Effect().none();
    }
    Map<Integer, Map<String, Long>> cursors = new HashMap<>();
    unflushedCursors.forEach((device, own) -> cursors.put(device, Map.copyOf(own)));
    Advanced advanced = new Advanced(Map.copyOf(unflushed), Map.copyOf(cursors));
    unflushed.clear();
    unflushedCursors.clear();
    return Effect().persist(advanced);
  }

  private Map<String, Long> cursors(State state, int device) {
    Map<String, Long> pending = unflushedCursors.get(device);
    return pending == null ? state.cursorsOf(device) : ahead(state.cursorsOf(device), pending);
  }

  private Markers markers(State state, String conversationId) {
    Markers stored = state.markers(conversationId);
    Markers pending = unflushed.get(conversationId);
    return pending == null ? stored : stored.max(pending);
  }

  private Effect<Event, State> onMembershipChanged(State state, MembershipChanged cmd) {
    ConversationEvent event = cmd.event();
    String conversationId = event.conversationId();
    boolean member = state.conversations().containsKey(conversationId);
    if (event.event() instanceof Conversation.MemberRemoved removed && removed.user().equals(user)) {
      forward(state, event, state.conversations().getOrDefault(conversationId, event.seq()));
      unflushed.remove(conversationId); // the markers and cursors of a conversation left go with it
      unflushedCursors.values().forEach(own -> own.remove(conversationId));
      unflushedCursors.values().removeIf(Map::isEmpty);
      return member ? Effect().persist(new Left(conversationId)) : Effect().none();
    }
    if (!member) {
      // joined now (created, added), or the notice of an earlier change was lost: start where this event is
      return Effect().persist(new Joined(conversationId, event.seq()))
          .thenRun(next -> forward(next, event, event.seq()));
    }
    forward(state, event, state.conversations().get(conversationId));
    return Effect().none();
  }

  private void forward(State state, ConversationEvent event, long fromSeq) {
    state.devices().keySet().forEach(device -> devices.deliver(new DeviceAddress(user, device), event, fromSeq));
  }

  private Effect<Event, State> onRemoveDevice(State state, RemoveDevice cmd) {
    if (!state.devices().containsKey(cmd.device())) {
      return Effect().none();
    }
    unflushedCursors.remove(cmd.device());
    return Effect().persist(new DeviceRemoved(cmd.device()));
  }

  private Effect<Event, State> onMemberOf(State state, MemberOf cmd) {
    if (state.conversations().containsKey(cmd.conversationId())) {
      return Effect().none();
    }
    return Effect().persist(new Joined(cmd.conversationId(), cmd.fromSeq()));
  }

  private Effect<Event, State> onRegisterDevice(State state, RegisterDevice cmd) {
    if (state.devices().containsKey(cmd.device())) {
      return Effect().reply(cmd.replyTo(), new Registered(cmd.device()));
    }
    if (state.devices().size() >= maxDevices) {
      return Effect().reply(cmd.replyTo(), new TooManyDevices(maxDevices));
    }
    return Effect().persist(new DeviceRegistered(cmd.device(), clock.millis()))
        .thenReply(cmd.replyTo(), next -> new Registered(cmd.device()));
  }

  @Override
  public EventHandler<State, Event> eventHandler() {
    return newEventHandlerBuilder().forAnyState()
        .onEvent(DeviceRegistered.class, (state, e) -> state.withDevice(e.device(), e.at()))
        .onEvent(DeviceRemoved.class, (state, e) -> state.withoutDevice(e.device()))
        .onEvent(Joined.class, (state, e) -> state.withConversation(e.conversationId(), e.fromSeq()))
        .onEvent(Left.class, (state, e) -> state.withoutConversation(e.conversationId()))
        .onEvent(ReceiptsAdvanced.class, (state, e) -> state.withReceipts(e.markers()))
        .onEvent(Advanced.class, (state, e) -> state.withReceipts(e.markers()).withCursors(e.cursors()))
        .build();
  }
}
