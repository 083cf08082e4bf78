package io.parley.session;

import io.parley.config.ParleySettings.SessionSettings;
import io.parley.conversation.Conversation;
import io.parley.conversation.ConversationEvent;
import io.parley.conversation.ConversationHistory;
import io.parley.conversation.SealedEnvelope;
import io.parley.identity.DeviceAddress;
import io.parley.inbox.DeviceDelivery;
import io.parley.observability.Metrics;
import io.parley.protocol.ReceiptKind;
import io.parley.protocol.ServerFrame;
import io.parley.serialization.CborSerializable;
import java.time.Duration;
import java.util.Base64;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.PostStop;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.BehaviorBuilder;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.StashBuffer;
import org.apache.pekko.actor.typed.javadsl.TimerScheduler;
import org.apache.pekko.cluster.sharding.typed.javadsl.ClusterSharding;
import org.apache.pekko.cluster.sharding.typed.javadsl.Entity;
import org.apache.pekko.cluster.sharding.typed.javadsl.EntityTypeKey;

/**
 * The session of one device: binds the device's live connection and delivers each conversation's events
 * to it in seq order without gaps. The journal is the source of truth: live events are pushed directly
 * when they are the next seq, and anything else (resume, a gap, a paused window) is read from the journal.
 *
 * <p>Three states, one behavior each: {@link #unbound} (no connection), {@link #binding} (a connection is
 * waiting for the user's conversations and the device's cursors from the inbox) and {@link #live}.
 * Acknowledged cursors go to the user's inbox in batches, which persists them with the user's receipt markers
 * (ADR 0026); delivered receipts go to the conversations in batches.
 */
public final class DeviceSession {

  public static final EntityTypeKey<Command> ENTITY_KEY = EntityTypeKey.create(Command.class, "DeviceSession");

  public sealed interface Command extends CborSerializable {}

  /** Binds a connection; replaces any connection bound before. {@code cursors}: what the client already has. */
  public record Bind(ActorRef<DeviceOutbound> connection, Map<String, Long> cursors) implements Command {}

  public record Unbind(ActorRef<DeviceOutbound> connection) implements Command {}

  /**
   * A persisted event of a conversation this device's user is in, with this device's envelope only;
   * {@code fromSeq}: where the user joined.
   */
  public record Deliver(ConversationEvent event, long fromSeq) implements Command {}

  /** This device sent the message stored at {@code seq}: its client has the seq from the ack, no frame is due. */
  public record OwnSent(String conversationId, long seq, long fromSeq) implements Command {}

  public record TypingNotice(String conversationId, DeviceAddress from, boolean active) implements Command {}

  /** An ephemeral frame's envelope for this device: pushed if a connection is bound, dropped otherwise. */
  public record EphemeralNotice(String conversationId, DeviceAddress from, SealedEnvelope envelope)
      implements Command {}

  /** Another member's receipt marker advanced. */
  public record ReceiptNotice(String conversationId, String reader, ReceiptKind kind, long seq) implements Command {}

  /** Cumulative acknowledgement from the client: it has everything up to {@code seq}. */
  public record Acked(ActorRef<DeviceOutbound> connection, String conversationId, long seq) implements Command {}

  /** Sharding's stop message (passivation, hand-off to another node): saves cursors, then stops. */
  public enum Stop implements Command { INSTANCE }

  /** Sent by a bound connection now and then so an idle but connected session is not passivated. */
  public record KeepAlive(ActorRef<DeviceOutbound> connection) implements Command {}

  /** The device's one-time prekeys run low (the key directory says so after a claim). */
  public record KeysLow(int remaining) implements Command {}

  /** The device was unlinked from the key directory: its live connection is closed with unknown_device. */
  public enum Unlink implements Command { INSTANCE }

  private record Resumed(long binding, Map<String, Long> joinedAt, Map<String, Long> cursors) implements Command {}

  private record ResumeFailed(long binding, Throwable cause) implements Command {}

  private record Fetched(long binding, String conversationId, List<ConversationEvent> events, int requested)
      implements Command {}

  private record FetchFailed(long binding, String conversationId, Throwable cause) implements Command {}

  private record RetryFetch(long binding, String conversationId) implements Command {}

  private record ConnectionGone(ActorRef<DeviceOutbound> connection) implements Command {}

  private enum FlushCursors implements Command { INSTANCE }

  private enum FlushReceipts implements Command { INSTANCE }

  private enum CursorsSaved implements Command { INSTANCE }

  /** How long a stopping session waits for its last cursors to be saved (a hand-off waits for it). */
  private static final Duration SAVE_BEFORE_STOP = Duration.ofSeconds(3);

  public static void init(ActorSystem<?> system, SessionSettings settings, ConversationHistory history) {
    ClusterSharding sharding = ClusterSharding.get(system);
    SessionNeighbours neighbours = SessionNeighbours.sharded(sharding);
    sharding.init(Entity.of(ENTITY_KEY, ctx ->
            create(DeviceAddress.fromEntityId(ctx.getEntityId()), settings, history, neighbours))
        .withStopMessage(Stop.INSTANCE));
  }

  /** How inboxes reach the sessions of their user's devices. */
  public static DeviceDelivery deliveryThrough(ClusterSharding sharding) {
    return (device, event, fromSeq) ->
        sharding.entityRefFor(ENTITY_KEY, device.entityId()).tell(new Deliver(event, fromSeq));
  }

  public static Behavior<Command> create(DeviceAddress device, SessionSettings settings, ConversationHistory history,
                                         SessionNeighbours neighbours) {
    return Behaviors.withStash(1000, stash -> Behaviors.setup(ctx -> Behaviors.withTimers(timers ->
        new DeviceSession(ctx, timers, stash, device, settings, history, neighbours).unbound())));
  }

  private final ActorContext<Command> context;
  private final TimerScheduler<Command> timers;
  /** Holds live events while a connection binds; the listing's catch-up and they then go on in order. */
  private final StashBuffer<Command> stash;
  private final DeviceAddress device;
  private final SessionSettings settings;
  private final ConversationHistory history;
  private final SessionNeighbours neighbours;
  /** Per conversation, the highest seq the device has acknowledged (or sent itself with nothing unacknowledged). */
  private final Map<String, Long> acked = new HashMap<>();
  /** Cursors advanced since they were last persisted. */
  private final Map<String, Long> unflushedCursors = new HashMap<>();
  /** Delivered markers advanced since they were last passed to the conversations. */
  private final Map<String, Long> unflushedReceipts = new HashMap<>();
  /** Increases with every bind and unbind: answers that belong to an earlier connection are recognised. */
  private long binding;

  private DeviceSession(ActorContext<Command> context, TimerScheduler<Command> timers, StashBuffer<Command> stash,
      DeviceAddress device, SessionSettings settings, ConversationHistory history, SessionNeighbours neighbours) {
    this.context = context;
    this.timers = timers;
    this.stash = stash;
    this.device = device;
    this.settings = settings;
    this.history = history;
    this.neighbours = neighbours;
  }

  // ---- unbound: no connection; events wait in the journal ----

  private Behavior<Command> unbound() {
    return Behaviors.receive(Command.class)
        .onMessage(Bind.class, this::bind)
        .onMessage(FlushCursors.class, msg -> flushCursors())
        .onMessage(FlushReceipts.class, msg -> flushReceipts())
        .onMessageEquals(Stop.INSTANCE, this::stop)
        .onAnyMessage(msg -> Behaviors.same()) // nobody to deliver to: the device catches up when it binds
        .build();
  }

  // ---- binding: a connection waits for the conversations and cursors from the inbox ----

  private Behavior<Command> bind(Bind bind) {
    ActorRef<DeviceOutbound> connection = bind.connection();
    context.watchWith(connection, new ConnectionGone(connection));
    long thisBinding = ++binding;
    context.pipeToSelf(neighbours.resume(device, settings.askTimeout()),
        (resumption, failure) -> resumption != null
            ? new Resumed(thisBinding, resumption.joinedAt(), resumption.cursors())
            : new ResumeFailed(thisBinding, failure));
    return binding(connection, bind.cursors(), thisBinding);
  }

  private Behavior<Command> binding(ActorRef<DeviceOutbound> connection, Map<String, Long> clientCursors,
                                    long thisBinding) {
    BehaviorBuilder<Command> builder = Behaviors.receive(Command.class)
        .onMessage(Resumed.class, msg -> msg.binding() == thisBinding
            ? goLive(connection, clientCursors, msg)
            : Behaviors.same())
        .onMessage(ResumeFailed.class, msg -> {
          if (msg.binding() != thisBinding) {
            return Behaviors.same();
          }
          context.getLog().warn("device session could not resume from the inbox; asking the client to reconnect");
          connection.tell(new DeviceOutbound.SessionEnded());
          return unbind(connection);
        })
        .onMessage(Deliver.class, this::holdWhileBinding)
        .onMessage(OwnSent.class, this::holdWhileBinding);
    return whileConnected(builder, connection)
        .onAnyMessage(msg -> Behaviors.same()) // notices are for live devices only
        .build();
  }

  /** What a session does with its connection in both connected states: replace, lose, unlink, stop. */
  private BehaviorBuilder<Command> whileConnected(BehaviorBuilder<Command> builder,
                                                  ActorRef<DeviceOutbound> connection) {
    return builder
        .onMessage(Bind.class, next -> displace(connection, next))
        .onMessage(Unbind.class, msg -> msg.connection().equals(connection) ? unbind(connection) : Behaviors.same())
        .onMessage(ConnectionGone.class, msg -> msg.connection().equals(connection)
            ? unbind(connection) : Behaviors.same())
        .onMessageEquals(Unlink.INSTANCE, () -> unlink(connection))
        .onMessage(FlushCursors.class, msg -> flushCursors())
        .onMessage(FlushReceipts.class, msg -> flushReceipts())
        .onMessageEquals(Stop.INSTANCE, () -> {
          Behavior<Command> stopping = stop();
          if (!Behavior.isAlive(stopping)) {
            return stopping; // the PostStop below tells the connection
          }
          connection.tell(new DeviceOutbound.SessionEnded());
          return stopping;
        })
        .onSignal(PostStop.class, signal -> {
          connection.tell(new DeviceOutbound.SessionEnded());
          return Behaviors.same();
        });
  }

  /** Live events wait for the listing (a full stash drops them: the journal has them for the catch-up). */
  private Behavior<Command> holdWhileBinding(Command event) {
    if (!stash.isFull()) {
      stash.stash(event);
    }
    return Behaviors.same();
  }

  private Behavior<Command> goLive(ActorRef<DeviceOutbound> connection, Map<String, Long> clientCursors,
                                   Resumed resumed) {
    // the inbox may be behind this session's own cursors (a batch not yet sent), never ahead of what was acked
    resumed.cursors().forEach((conversationId, seq) -> acked.merge(conversationId, seq, Math::max));
    // through the connection's own channel, so it arrives before any frame pushed after it
    connection.tell(new DeviceOutbound.Attached(context.getSelf()));
    Live live = new Live(connection, binding);
    resumed.joinedAt().forEach((conversationId, fromSeq) -> {
      long base = Math.max(Math.max(clientCursors.getOrDefault(conversationId, 0L), ackedFor(conversationId)),
          fromSeq - 1);
      live.streams.put(conversationId, new Stream(base, true));
      live.pump(conversationId);
    });
    return stash.unstashAll(live.behavior());
  }

  /** Another connection of the same device takes over; the old one is told to close. */
  private Behavior<Command> displace(ActorRef<DeviceOutbound> current, Bind next) {
    if (next.connection().equals(current)) {
      return Behaviors.same();
    }
    context.unwatch(current);
    current.tell(new DeviceOutbound.Displaced());
    return bind(next);
  }

  private Behavior<Command> unlink(ActorRef<DeviceOutbound> connection) {
    connection.tell(new DeviceOutbound.Unlinked());
    return unbind(connection);
  }

  private Behavior<Command> unbind(ActorRef<DeviceOutbound> connection) {
    context.unwatch(connection);
    binding++;
    flushReceipts();
    flushCursors();
    return stash.unstashAll(unbound()); // events held while binding: the device catches up when it binds again
  }

  // ---- live ----

  /** Delivery progress of one conversation for the bound connection. */
  private static final class Stream {
    final long base;
    long lastSent;
    long known;
    boolean fetching;
    boolean mayHaveMore;
    /** The device's own messages sent past the acknowledged cursor: acknowledged as soon as it reaches them. */
    final java.util.NavigableSet<Long> own = new java.util.TreeSet<>();

    Stream(long base, boolean mayHaveMore) {
      this.base = base;
      this.lastSent = base;
      this.known = base;
      this.mayHaveMore = mayHaveMore;
    }
  }

  private record ReceiptKey(String conversationId, String reader, ReceiptKind kind) {}

  /** The live state of one bound connection: what has been pushed to it, per conversation. */
  private final class Live {
    final ActorRef<DeviceOutbound> connection;
    final long binding;
    final Map<String, Stream> streams = new HashMap<>();
    /** The highest receipt pushed per conversation, reader and kind: none is ever pushed lower. */
    final Map<ReceiptKey, Long> receiptsPushed = new HashMap<>();
    /** Conversations waiting for the in-flight window to reopen. */
    final Set<String> waiting = new LinkedHashSet<>();
    /** Events pushed and not yet acknowledged, over all conversations. */
    int inFlight;

    Live(ActorRef<DeviceOutbound> connection, long binding) {
      this.connection = connection;
      this.binding = binding;
    }

    Behavior<Command> behavior() {
      BehaviorBuilder<Command> builder = Behaviors.receive(Command.class)
          .onMessage(Deliver.class, this::onDeliver)
          .onMessage(OwnSent.class, this::onOwnSent)
          .onMessage(Acked.class, this::onAcked)
          .onMessage(Fetched.class, this::onFetched)
          .onMessage(FetchFailed.class, this::onFetchFailed)
          .onMessage(RetryFetch.class, msg -> {
            if (msg.binding() == binding) {
              pump(msg.conversationId());
            }
            return Behaviors.same();
          })
          .onMessage(TypingNotice.class, this::onTyping)
          .onMessage(EphemeralNotice.class, this::onEphemeral)
          .onMessage(ReceiptNotice.class, this::onReceipt)
          .onMessage(KeysLow.class, low -> push(new ServerFrame.KeysLow(device.device(), low.remaining())))
          .onMessage(KeepAlive.class, msg -> Behaviors.same());
      return whileConnected(builder, connection)
          .onAnyMessage(msg -> Behaviors.same()) // answers meant for an earlier binding
          .build();
    }

    Behavior<Command> onDeliver(Deliver deliver) {
      ConversationEvent event = deliver.event();
      Stream stream = streamFor(event.conversationId(), deliver.fromSeq());
      stream.known = Math.max(stream.known, event.seq());
      if (!stream.fetching && event.seq() == stream.lastSent + 1 && inFlight < settings.maxInFlight()) {
        next(event.conversationId(), stream, event);
      } else if (event.seq() > stream.lastSent) {
        pump(event.conversationId());
      }
      return Behaviors.same();
    }

    /**
     * The device's own message: counted as sent (the client has its seq from the ack), no frame; it counts as
     * acknowledged once everything before it is.
     */
    Behavior<Command> onOwnSent(OwnSent own) {
      String conversationId = own.conversationId();
      Stream stream = streamFor(conversationId, own.fromSeq());
      stream.known = Math.max(stream.known, own.seq());
      if (own.seq() > stream.lastSent) {
        stream.own.add(own.seq());
      }
      if (!stream.fetching && own.seq() == stream.lastSent + 1) {
        long unackedBefore = unacked(conversationId, stream);
        stream.lastSent = own.seq();
        settleOwn(conversationId, stream);
        inFlight += unacked(conversationId, stream) - unackedBefore;
      } else if (own.seq() > stream.lastSent) {
        pump(conversationId);
      }
      return Behaviors.same();
    }

    /** Moves the acknowledged cursor over the device's own messages that directly follow it. */
    void settleOwn(String conversationId, Stream stream) {
      long cursor = Math.max(ackedFor(conversationId), stream.base);
      stream.own.headSet(cursor, true).clear();
      long settled = cursor;
      while (settled < stream.lastSent && stream.own.remove(settled + 1)) {
        settled++;
      }
      if (settled > ackedFor(conversationId)) {
        advanceCursor(conversationId, settled);
      }
    }

    /**
     * A conversation the listing at bind did not have (created or joined since): its stream starts where the
     * user joined or the device's cursor is.
     */
    Stream streamFor(String conversationId, long fromSeq) {
      Stream stream = streams.get(conversationId);
      if (stream == null) {
        stream = new Stream(Math.max(ackedFor(conversationId), fromSeq - 1), false);
        streams.put(conversationId, stream);
      }
      return stream;
    }

    /** Reads the next part of a conversation from the journal when the stream is behind and may send. */
    void pump(String conversationId) {
      Stream stream = streams.get(conversationId);
      if (stream == null || stream.fetching) {
        return;
      }
      if (stream.lastSent >= stream.known && !stream.mayHaveMore) {
        return;
      }
      int batch = Math.min(settings.fetchBatch(), settings.maxInFlight() - inFlight);
      if (batch <= 0) {
        waiting.add(conversationId); // window full: the next ack reopens it
        return;
      }
      stream.fetching = true;
      long thisBinding = binding;
      context.pipeToSelf(history.read(conversationId, stream.lastSent + 1, Long.MAX_VALUE, batch),
          (events, failure) -> events != null
              ? new Fetched(thisBinding, conversationId, events, batch)
              : new FetchFailed(thisBinding, conversationId, failure));
    }

    Behavior<Command> onFetched(Fetched fetched) {
      Stream stream = streams.get(fetched.conversationId());
      if (fetched.binding() != binding || stream == null) {
        return Behaviors.same();
      }
      stream.fetching = false;
      for (ConversationEvent event : fetched.events()) {
        if (event.seq() == stream.lastSent + 1) {
          next(fetched.conversationId(), stream, event);
        }
      }
      stream.known = Math.max(stream.known, stream.lastSent);
      stream.mayHaveMore = fetched.events().size() == fetched.requested();
      if (fetched.events().isEmpty() && stream.lastSent < stream.known) {
        // announced but not yet readable: try again shortly instead of spinning
        timers.startSingleTimer(new RetryFetch(binding, fetched.conversationId()), Duration.ofMillis(100));
      } else {
        pump(fetched.conversationId());
      }
      return Behaviors.same();
    }

    Behavior<Command> onFetchFailed(FetchFailed failed) {
      Stream stream = streams.get(failed.conversationId());
      if (failed.binding() != binding || stream == null) {
        return Behaviors.same();
      }
      stream.fetching = false;
      context.getLog().warn("reading a conversation from the journal failed; retrying", failed.cause());
      timers.startSingleTimer(new RetryFetch(binding, failed.conversationId()), Duration.ofSeconds(1));
      return Behaviors.same();
    }

    Behavior<Command> onAcked(Acked ack) {
      String conversationId = ack.conversationId();
      Stream stream = streams.get(conversationId);
      if (!ack.connection().equals(connection) || stream == null) {
        return Behaviors.same();
      }
      // a client can only acknowledge what exists; it may have fetched ahead of what was pushed
      long seq = Math.min(ack.seq(), stream.known);
      if (seq <= ackedFor(conversationId)) {
        return Behaviors.same();
      }
      long unackedBefore = unacked(conversationId, stream);
      advanceCursor(conversationId, seq);
      if (seq > stream.lastSent) {
        stream.lastSent = seq;
      }
      settleOwn(conversationId, stream);
      inFlight -= unackedBefore - unacked(conversationId, stream);
      unflushedReceipts.put(conversationId, seq);
      if (!timers.isTimerActive(FlushReceipts.INSTANCE)) {
        timers.startSingleTimer(FlushReceipts.INSTANCE, settings.receiptFlushInterval());
      }
      pump(conversationId);
      reopenWindow();
      return Behaviors.same();
    }

    /** Lets conversations that waited for the window go on, oldest first, while it has room. */
    void reopenWindow() {
      Iterator<String> iterator = waiting.iterator();
      while (iterator.hasNext() && inFlight < settings.maxInFlight()) {
        String conversationId = iterator.next();
        iterator.remove();
        pump(conversationId);
      }
    }

    Behavior<Command> onTyping(TypingNotice notice) {
      return push(new ServerFrame.TypingNotice(notice.conversationId(), notice.from().user(),
          notice.from().device(), notice.active()));
    }

    Behavior<Command> onEphemeral(EphemeralNotice notice) {
      SealedEnvelope envelope = notice.envelope();
      return push(new ServerFrame.Ephemeral(notice.conversationId(), notice.from().user(), notice.from().device(),
          new ServerFrame.Body(envelope.type(), Base64.getEncoder().encodeToString(envelope.body()))));
    }

    Behavior<Command> onReceipt(ReceiptNotice notice) {
      ReceiptKey key = new ReceiptKey(notice.conversationId(), notice.reader(), notice.kind());
      if (notice.seq() > receiptsPushed.getOrDefault(key, 0L)) {
        receiptsPushed.put(key, notice.seq());
        push(new ServerFrame.Receipt(notice.conversationId(), notice.reader(), notice.kind(), notice.seq()));
      }
      return Behaviors.same();
    }

    Behavior<Command> push(ServerFrame frame) {
      connection.tell(new DeviceOutbound.Push(frame));
      return Behaviors.same();
    }

    /**
     * The stream's next event: pushed, or, when it is the device's own message (read from the journal), counted
     * as sent without a frame, as the live {@link OwnSent} is.
     */
    void next(String conversationId, Stream stream, ConversationEvent event) {
      long unackedBefore = unacked(conversationId, stream);
      if (event.event() instanceof Conversation.MessagePosted posted && posted.sender().equals(device)) {
        stream.own.add(event.seq());
        stream.lastSent = event.seq();
        settleOwn(conversationId, stream);
      } else {
        connection.tell(new DeviceOutbound.Push(EventFrames.forDevice(event, device)));
        Metrics.pushed();
        stream.lastSent = event.seq();
      }
      inFlight += unacked(conversationId, stream) - unackedBefore;
    }

    long unacked(String conversationId, Stream stream) {
      return Math.max(0, stream.lastSent - Math.max(ackedFor(conversationId), stream.base));
    }
  }

  // ---- in every state ----

  private void advanceCursor(String conversationId, long seq) {
    acked.put(conversationId, seq);
    unflushedCursors.put(conversationId, seq);
    if (!timers.isTimerActive(FlushCursors.INSTANCE)) {
      timers.startSingleTimer(FlushCursors.INSTANCE, settings.cursorFlushInterval());
    }
  }

  private Behavior<Command> flushCursors() {
    if (!unflushedCursors.isEmpty()) {
      neighbours.cursorsAdvanced(device, Map.copyOf(unflushedCursors));
      unflushedCursors.clear();
    }
    return Behaviors.same();
  }

  /** One delivered receipt per conversation for everything acknowledged since the last batch. */
  private Behavior<Command> flushReceipts() {
    unflushedReceipts.forEach((conversationId, seq) -> neighbours.delivered(conversationId, device, seq));
    unflushedReceipts.clear();
    return Behaviors.same();
  }

  /** Passes on receipts, then waits (briefly) until the cursors are saved, and stops. */
  private Behavior<Command> stop() {
    flushReceipts();
    if (unflushedCursors.isEmpty()) {
      return Behaviors.stopped();
    }
    context.pipeToSelf(neighbours.saveCursors(device, Map.copyOf(unflushedCursors), SAVE_BEFORE_STOP),
        (done, failure) -> {
          if (failure != null) { // the cause's kind only: an ask timeout's message names the user's entity
            context.getLog().warn("a stopping device session's cursors were not saved ({}); the client's own "
                + "cursors cover its resume", failure.getClass().getSimpleName());
          }
          return CursorsSaved.INSTANCE;
        });
    unflushedCursors.clear();
    // a safety net beside the ask's own timeout: the session stops even if no answer ever comes back
    timers.startSingleTimer(Stop.INSTANCE, SAVE_BEFORE_STOP);
    return Behaviors.receive(Command.class)
        .onMessageEquals(CursorsSaved.INSTANCE, Behaviors::stopped)
        .onMessageEquals(Stop.INSTANCE, Behaviors::stopped)
        .onAnyMessage(ignored -> Behaviors.same())
        .build();
  }

  private long ackedFor(String conversationId) {
    return acked.getOrDefault(conversationId, 0L);
  }
}
