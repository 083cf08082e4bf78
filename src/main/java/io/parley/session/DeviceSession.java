package io.parley.session;

import io.parley.config.ParleySettings.SessionSettings;
import io.parley.conversation.ConversationEvent;
import io.parley.conversation.ConversationHistory;
import io.parley.conversation.SealedEnvelope;
import io.parley.identity.DeviceAddress;
import io.parley.conversation.Conversation;
import io.parley.inbox.Inbox;
import io.parley.observability.Metrics;
import io.parley.protocol.ReceiptKind;
import io.parley.protocol.ServerFrame;
import io.parley.serialization.CborSerializable;
import java.time.Duration;
import java.util.Base64;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.PostStop;
import org.apache.pekko.actor.typed.javadsl.AbstractBehavior;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.Receive;
import org.apache.pekko.actor.typed.javadsl.StashBuffer;
import org.apache.pekko.actor.typed.javadsl.TimerScheduler;
import org.apache.pekko.cluster.sharding.typed.javadsl.ClusterSharding;
import org.apache.pekko.cluster.sharding.typed.javadsl.Entity;
import org.apache.pekko.cluster.sharding.typed.javadsl.EntityTypeKey;

/**
 * The session of one device: binds the device's live connection and delivers each conversation's events
 * to it in seq order without gaps. The journal is the source of truth: live events are pushed directly
 * when they are the next seq, and anything else (resume, a gap, a paused window) is read from the journal.
 * Acknowledged cursors are persisted by the {@link DeviceCursors} child; runtime delivery state lives here
 * and is rebuilt on every bind.
 */
public final class DeviceSession extends AbstractBehavior<DeviceSession.Command> {

  public static final EntityTypeKey<Command> ENTITY_KEY = EntityTypeKey.create(Command.class, "DeviceSession");

  public sealed interface Command extends CborSerializable {}

  /** Binds a connection; replaces any connection bound before. {@code cursors}: what the client already has. */
  public record Bind(ActorRef<DeviceOutbound> connection, Map<String, Long> cursors) implements Command {}

  public record Unbind(ActorRef<DeviceOutbound> connection) implements Command {}

  /** A persisted event of a conversation this device's user is in; {@code fromSeq}: where the user joined. */
  public record Deliver(ConversationEvent event, long fromSeq) implements Command {}

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

  private record CursorsLoaded(DeviceCursors.State state) implements Command {}

  private record ConversationsListed(long binding, Inbox.Conversations conversations) implements Command {}

  private record ListingFailed(long binding, Throwable cause) implements Command {}

  private record Fetched(long binding, String conversationId, List<ConversationEvent> events, int requested)
      implements Command {}

  private record FetchFailed(long binding, String conversationId, Throwable cause) implements Command {}

  private record RetryFetch(long binding, String conversationId) implements Command {}

  private record ConnectionGone(ActorRef<DeviceOutbound> connection) implements Command {}

  private enum FlushCursors implements Command { INSTANCE }

  private record CursorsSaved(DeviceCursors.State state) implements Command {}

  private record ReceiptKey(String conversationId, String reader, ReceiptKind kind) {}

  /** Delivery progress of one conversation for the bound connection. */
  private static final class Stream {
    final long base;
    long lastSent;
    long known;
    boolean fetching;
    boolean mayHaveMore;

    Stream(long base, boolean mayHaveMore) {
      this.base = base;
      this.lastSent = base;
      this.known = base;
      this.mayHaveMore = mayHaveMore;
    }
  }

  public static void init(ActorSystem<?> system, SessionSettings settings, ConversationHistory history) {
    ClusterSharding.get(system).init(Entity.of(ENTITY_KEY, ctx ->
            create(DeviceAddress.fromEntityId(ctx.getEntityId()), settings, history))
        .withStopMessage(Stop.INSTANCE));
  }

  public static Behavior<Command> create(DeviceAddress device, SessionSettings settings, ConversationHistory history) {
    return Behaviors.withStash(1000, stash -> Behaviors.setup(ctx -> Behaviors.withTimers(timers -> {
      ActorRef<DeviceCursors.Command> cursors = ctx.spawn(DeviceCursors.create(device), "cursors");
      cursors.tell(new DeviceCursors.Get(ctx.messageAdapter(DeviceCursors.State.class, CursorsLoaded::new)));
      return loading(ctx, stash, timers, device, settings, history, cursors);
    })));
  }

  private static Behavior<Command> loading(ActorContext<Command> ctx, StashBuffer<Command> stash,
      TimerScheduler<Command> timers, DeviceAddress device, SessionSettings settings, ConversationHistory history,
      ActorRef<DeviceCursors.Command> cursors) {
    return Behaviors.receive(Command.class)
        .onMessage(CursorsLoaded.class, loaded -> stash.unstashAll(
            new DeviceSession(ctx, timers, device, settings, history, cursors, loaded.state().acked())))
        .onAnyMessage(msg -> {
          stash.stash(msg);
          return Behaviors.same();
        })
        .build();
  }

  private final TimerScheduler<Command> timers;
  private final DeviceAddress device;
  private final SessionSettings settings;
  private final ConversationHistory history;
  private final ActorRef<DeviceCursors.Command> cursors;
  private final ClusterSharding sharding;
  private final Map<String, Long> acked;
  private final Map<String, Long> unflushed = new HashMap<>();
  private final Map<String, Stream> streams = new HashMap<>();
  /** The highest receipt pushed to this device per conversation, reader and kind: none is ever pushed lower. */
  private final Map<ReceiptKey, Long> receiptsPushed = new HashMap<>();
  /** Conversations waiting for the in-flight window to reopen. */
  private final java.util.Set<String> waiting = new java.util.LinkedHashSet<>();
  /** Events pushed to the bound connection and not yet acknowledged, over all conversations. */
  private int inFlight;
  private ActorRef<DeviceOutbound> connection;
  private long binding;
  private Bind pendingBind;

  private DeviceSession(ActorContext<Command> ctx, TimerScheduler<Command> timers, DeviceAddress device,
      SessionSettings settings, ConversationHistory history, ActorRef<DeviceCursors.Command> cursors,
      Map<String, Long> acked) {
    super(ctx);
    this.timers = timers;
    this.device = device;
    this.settings = settings;
    this.history = history;
    this.cursors = cursors;
    this.sharding = ClusterSharding.get(ctx.getSystem());
    this.acked = new HashMap<>(acked);
  }

  @Override
  public Receive<Command> createReceive() {
    return newReceiveBuilder()
        .onMessage(Bind.class, this::onBind)
        .onMessage(ConversationsListed.class, this::onConversationsListed)
        .onMessage(ListingFailed.class, this::onListingFailed)
        .onMessage(Unbind.class, msg -> unbind(msg.connection()))
        .onMessage(ConnectionGone.class, msg -> unbind(msg.connection()))
        .onMessage(Deliver.class, this::onDeliver)
        .onMessage(Fetched.class, this::onFetched)
        .onMessage(FetchFailed.class, this::onFetchFailed)
        .onMessage(RetryFetch.class, msg -> {
          if (msg.binding() == binding) {
            pump(msg.conversationId());
          }
          return this;
        })
        .onMessage(Acked.class, this::onAcked)
        .onMessage(TypingNotice.class, this::onTyping)
        .onMessage(EphemeralNotice.class, this::onEphemeral)
        .onMessage(ReceiptNotice.class, this::onReceipt)
        .onMessage(KeysLow.class, this::onKeysLow)
        .onMessageEquals(Unlink.INSTANCE, this::onUnlink)
        .onMessage(KeepAlive.class, msg -> this)
        .onMessage(FlushCursors.class, msg -> flush())
        .onMessageEquals(Stop.INSTANCE, this::onStop)
        .onSignal(PostStop.class, signal -> {
          endSession();
          return this;
        })
        .build();
  }

  private Behavior<Command> onBind(Bind bind) {
    if (connection != null && !connection.equals(bind.connection())) {
      getContext().unwatch(connection);
      connection.tell(new DeviceOutbound.Displaced());
    }
    connection = bind.connection();
    getContext().watchWith(connection, new ConnectionGone(connection));
    binding++;
    resetStreams();
    long thisBinding = binding;
    getContext().ask(Inbox.Conversations.class, inbox(), settings.askTimeout(),
        Inbox.ListConversations::new,
        (listed, failure) -> listed != null
            ? new ConversationsListed(thisBinding, listed)
            : new ListingFailed(thisBinding, failure));
    pendingBind = bind;
    return this;
  }

  private Behavior<Command> onConversationsListed(ConversationsListed msg) {
    if (msg.binding() != binding || pendingBind == null) {
      return this;
    }
    Map<String, Long> clientCursors = pendingBind.cursors();
    // through the connection's own channel, so it arrives before any frame pushed after it
    connection.tell(new DeviceOutbound.Attached(getContext().getSelf()));
    pendingBind = null;
    msg.conversations().joinedAt().forEach((conversationId, fromSeq) -> {
      long base = Math.max(Math.max(clientCursors.getOrDefault(conversationId, 0L), ackedFor(conversationId)),
          fromSeq - 1);
      streams.put(conversationId, new Stream(base, true));
      pump(conversationId);
    });
    return this;
  }

  private Behavior<Command> onListingFailed(ListingFailed msg) {
    if (msg.binding() == binding && connection != null) {
      getContext().getLog().warn("device session could not list conversations; asking the client to reconnect");
      connection.tell(new DeviceOutbound.SessionEnded());
      return unbind(connection);
    }
    return this;
  }

  private Behavior<Command> unbind(ActorRef<DeviceOutbound> gone) {
    if (gone.equals(connection)) {
      getContext().unwatch(connection);
      connection = null;
      pendingBind = null;
      binding++;
      resetStreams();
      flush();
    }
    return this;
  }

  private Behavior<Command> onDeliver(Deliver deliver) {
    if (connection == null || pendingBind != null) {
      return this; // not live: the device catches up from the journal when it binds
    }
    ConversationEvent event = deliver.event();
    Stream stream = streams.computeIfAbsent(event.conversationId(),
        id -> new Stream(Math.max(ackedFor(id), deliver.fromSeq() - 1), false));
    stream.known = Math.max(stream.known, event.seq());
    if (!stream.fetching && event.seq() == stream.lastSent + 1 && inFlight < settings.maxInFlight()) {
      push(stream, event);
    } else if (event.seq() > stream.lastSent) {
      pump(event.conversationId());
    }
    return this;
  }

  /** Reads the next part of a conversation from the journal when the stream is behind and may send. */
  private void pump(String conversationId) {
    Stream stream = streams.get(conversationId);
    if (stream == null || stream.fetching || connection == null) {
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
    getContext().pipeToSelf(history.read(conversationId, stream.lastSent + 1, Long.MAX_VALUE, batch),
        (events, failure) -> events != null
            ? new Fetched(thisBinding, conversationId, events, batch)
            : new FetchFailed(thisBinding, conversationId, failure));
  }

  private Behavior<Command> onFetched(Fetched fetched) {
    Stream stream = streams.get(fetched.conversationId());
    if (fetched.binding() != binding || stream == null) {
      return this;
    }
    stream.fetching = false;
    for (ConversationEvent event : fetched.events()) {
      if (event.seq() == stream.lastSent + 1) {
        push(stream, event);
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
    return this;
  }

  private Behavior<Command> onFetchFailed(FetchFailed failed) {
    Stream stream = streams.get(failed.conversationId());
    if (failed.binding() != binding || stream == null) {
      return this;
    }
    stream.fetching = false;
    getContext().getLog().warn("reading a conversation from the journal failed; retrying", failed.cause());
    timers.startSingleTimer(new RetryFetch(binding, failed.conversationId()), Duration.ofSeconds(1));
    return this;
  }

  private Behavior<Command> onAcked(Acked ack) {
    if (!ack.connection().equals(connection)) {
      return this;
    }
    Stream stream = streams.get(ack.conversationId());
    if (stream == null) {
      return this;
    }
    // a client can only acknowledge what exists; it may have fetched ahead of what was pushed
    long seq = Math.min(ack.seq(), stream.known);
    if (seq <= ackedFor(ack.conversationId())) {
      return this;
    }
    long unackedBefore = unacked(ack.conversationId(), stream);
    acked.put(ack.conversationId(), seq);
    unflushed.put(ack.conversationId(), seq);
    if (seq > stream.lastSent) {
      stream.lastSent = seq;
    }
    inFlight -= unackedBefore - unacked(ack.conversationId(), stream);
    sharding.entityRefFor(Conversation.ENTITY_KEY, ack.conversationId())
        .tell(new Conversation.MarkDelivered(device, seq));
    if (!timers.isTimerActive(FlushCursors.INSTANCE)) {
      timers.startSingleTimer(FlushCursors.INSTANCE, settings.cursorFlushInterval());
    }
    pump(ack.conversationId());
    reopenWindow();
    return this;
  }

  /** Lets conversations that waited for the window go on, oldest first, while it has room. */
  private void reopenWindow() {
    var iterator = waiting.iterator();
    while (iterator.hasNext() && inFlight < settings.maxInFlight()) {
      String conversationId = iterator.next();
      iterator.remove();
      pump(conversationId);
    }
  }

  private Behavior<Command> onTyping(TypingNotice notice) {
    if (connection != null && pendingBind == null && !notice.from().equals(device)) {
      connection.tell(new DeviceOutbound.Push(new ServerFrame.TypingNotice(notice.conversationId(),
          notice.from().user(), notice.from().device(), notice.active())));
    }
    return this;
  }

  private Behavior<Command> onEphemeral(EphemeralNotice notice) {
    if (connection != null && pendingBind == null) {
      SealedEnvelope envelope = notice.envelope();
      connection.tell(new DeviceOutbound.Push(new ServerFrame.Ephemeral(notice.conversationId(),
          notice.from().user(), notice.from().device(),
          new ServerFrame.Body(envelope.type(), Base64.getEncoder().encodeToString(envelope.body())))));
    }
    return this;
  }

  private Behavior<Command> onReceipt(ReceiptNotice notice) {
    if (connection == null || pendingBind != null) {
      return this; // offline: the latest markers are there to ask for with a receipts request
    }
    ReceiptKey key = new ReceiptKey(notice.conversationId(), notice.reader(), notice.kind());
    if (notice.seq() > receiptsPushed.getOrDefault(key, 0L)) {
      receiptsPushed.put(key, notice.seq());
      connection.tell(new DeviceOutbound.Push(new ServerFrame.Receipt(notice.conversationId(), notice.reader(),
          notice.kind(), notice.seq())));
    }
    return this;
  }

  private Behavior<Command> onKeysLow(KeysLow low) {
    if (connection != null && pendingBind == null) {
      connection.tell(new DeviceOutbound.Push(new ServerFrame.KeysLow(device.device(), low.remaining())));
    }
    return this;
  }

  private Behavior<Command> onUnlink() {
    if (connection == null) {
      return this;
    }
    connection.tell(new DeviceOutbound.Unlinked());
    return unbind(connection);
  }

  private Behavior<Command> flush() {
    if (!unflushed.isEmpty()) {
      cursors.tell(new DeviceCursors.Advance(Map.copyOf(unflushed), getContext().getSystem().ignoreRef()));
      unflushed.clear();
    }
    return this;
  }

  /** Tells the bound client to resume elsewhere and waits (briefly) until its cursors are saved. */
  private Behavior<Command> onStop() {
    endSession();
    if (unflushed.isEmpty()) {
      return Behaviors.stopped();
    }
    cursors.tell(new DeviceCursors.Advance(Map.copyOf(unflushed),
        getContext().messageAdapter(DeviceCursors.State.class, CursorsSaved::new)));
    unflushed.clear();
    timers.startSingleTimer(Stop.INSTANCE, Duration.ofSeconds(3));
    return Behaviors.receive(Command.class)
        .onMessage(CursorsSaved.class, saved -> Behaviors.stopped())
        .onMessageEquals(Stop.INSTANCE, Behaviors::stopped)
        .onAnyMessage(ignored -> Behaviors.same())
        .build();
  }

  private void endSession() {
    if (connection != null) {
      connection.tell(new DeviceOutbound.SessionEnded());
      connection = null;
    }
  }

  private long unacked(String conversationId, Stream stream) {
    return Math.max(0, stream.lastSent - Math.max(ackedFor(conversationId), stream.base));
  }

  private void push(Stream stream, ConversationEvent event) {
    connection.tell(new DeviceOutbound.Push(EventFrames.forDevice(event, device)));
    Metrics.pushed();
    stream.lastSent = event.seq();
    inFlight++;
  }

  private void resetStreams() {
    streams.clear();
    waiting.clear();
    inFlight = 0;
  }

  private long ackedFor(String conversationId) {
    return acked.getOrDefault(conversationId, 0L);
  }

  private org.apache.pekko.cluster.sharding.typed.javadsl.EntityRef<Inbox.Command> inbox() {
    return sharding.entityRefFor(Inbox.ENTITY_KEY, device.user());
  }
}
