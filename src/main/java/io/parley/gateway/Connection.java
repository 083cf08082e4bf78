package io.parley.gateway;

import io.parley.auth.AuthException;
import io.parley.auth.Principal;
import io.parley.auth.TokenVerifier;
import io.parley.config.ParleySettings.ProtocolSettings;
import io.parley.config.ParleySettings.SessionSettings;
import io.parley.conversation.Conversation;
import io.parley.conversation.ConversationHistory;
import io.parley.directory.DeviceDirectory;
import io.parley.directory.KeyDirectory;
import io.parley.identity.DeviceAddress;
import io.parley.inbox.Inbox;
import io.parley.limits.RateLimits;
import io.parley.observability.Metrics;
import io.parley.presence.Presence;
import io.parley.protocol.ClientFrame;
import io.parley.protocol.ErrorCode;
import io.parley.protocol.FrameCodec;
import io.parley.protocol.InvalidFrameException;
import io.parley.protocol.ServerFrame;
import io.parley.session.DeviceOutbound;
import io.parley.session.DeviceSession;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ThreadLocalRandom;
import java.util.function.Function;
import java.util.function.Supplier;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.PostStop;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.BehaviorBuilder;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.TimerScheduler;
import org.apache.pekko.cluster.sharding.typed.javadsl.ClusterSharding;
import org.apache.pekko.cluster.sharding.typed.javadsl.EntityRef;

/**
 * One client WebSocket: decodes frames, authenticates the hello, binds the device session and turns
 * requests into commands ({@link Requests}). Outbound frames go through {@link ClientSocket}, which bounds
 * what a slow client can make the server hold.
 *
 * <p>One behavior per state: {@link #awaitingHello} (and {@link #checkingHello} while the hello's device is
 * registered), {@link #attaching} (the device's session is binding this connection), {@link #live},
 * {@link #draining} (the node shuts down: requests already read are answered, no more are read) and
 * {@link #closed} (the close frame is queued; only the end of the stream matters).
 */
public final class Connection {

  public sealed interface Command {}

  /** The inbound stream is ready; {@code ackTo} asks it for the next frame. */
  public record StreamStarted(ActorRef<StreamAck> ackTo) implements Command {}

  public record Inbound(ActorRef<StreamAck> ackTo, WebSocketFlow.InboundFrame frame) implements Command {}

  public enum StreamEnded implements Command { INSTANCE }

  public record StreamFailed(Throwable cause) implements Command {}

  /** The node is shutting down: ask the client to reconnect elsewhere. */
  public record Shutdown(Duration retryAfter) implements Command {}

  public enum StreamAck { INSTANCE }

  private record FromSession(DeviceOutbound message) implements Command {}

  /** A contact's presence, from the node's {@link Presence}. */
  private record PresencePush(ServerFrame frame) implements Command {}

  private enum HelloTimeout implements Command { INSTANCE }

  private enum AttachTimeout implements Command { INSTANCE }

  private enum KeepAliveTick implements Command { INSTANCE }

  private record SessionGone() implements Command {}

  /** The device's prekey status, asked right after welcome; null when the directory did not answer. */
  private record KeysChecked(KeyDirectory.Reply status) implements Command {}

  /** {@code registration} is null when the device has no directory entry (and {@code failure} is null). */
  private record HelloChecked(ClientFrame.Hello hello, Principal principal, Inbox.Registration registration,
                              Throwable failure) implements Command {}

  // answers to requests; package-private because Requests sends them

  /** A request finished: the frames to send (possibly none). */
  record Answered(List<ServerFrame> frames) implements Command {}

  /** A conversation's answer to one of this connection's sends. */
  record PostAnswered(Conversation.Posted posted) implements Command {}

  /** The send limit refused the send with {@code tag}. */
  record SendLimited(long tag, long retryAfterMs) implements Command {}

  enum SweepSends implements Command { INSTANCE }

  /** Close codes; see docs/protocol.md. */
  public static final int CLOSE_REPLACED = 4000;
  public static final int CLOSE_HELLO_TIMEOUT = 4001;
  public static final int CLOSE_UNAUTHORIZED = 4003;
  public static final int CLOSE_TOO_MANY_DEVICES = 4004;
  public static final int CLOSE_UNKNOWN_DEVICE = 4005;
  public static final int CLOSE_TOO_SLOW = 4008;
  public static final int CLOSE_SESSION_MOVED = 4009;
  public static final int CLOSE_SERVICE_RESTART = 1012;

  private static final Duration KEEP_ALIVE_EVERY = Duration.ofSeconds(60);

  /** Everything a connection needs from its node. */
  public record Deps(TokenVerifier verifier, ClusterSharding sharding, ConversationHistory history,
                     SessionSettings session, ProtocolSettings protocol, FrameCodec codec,
                     DeviceDirectory directory, ActorRef<Presence.Command> presence, RateLimits limits) {}

  public static Behavior<Command> create(Deps deps, Outbound outbound) {
    return Behaviors.setup(ctx -> Behaviors.withTimers(timers -> {
      Metrics.connectionOpened();
      timers.startSingleTimer(HelloTimeout.INSTANCE, deps.session().helloTimeout());
      return new Connection(ctx, timers, deps, outbound).awaitingHello();
    }));
  }

  private final ActorContext<Command> context;
  private final TimerScheduler<Command> timers;
  private final Deps deps;
  private final ClientSocket socket;
  /** The requests in flight, the reads held back and the sends awaiting their conversation, in every state. */
  private final Requests requests;
  private final ActorRef<DeviceOutbound> sessionInbox;
  private final ActorRef<ServerFrame> presenceInbox;

  private Connection(ActorContext<Command> context, TimerScheduler<Command> timers, Deps deps, Outbound outbound) {
    this.context = context;
    this.timers = timers;
    this.deps = deps;
    this.socket = new ClientSocket(outbound, deps.codec());
    this.sessionInbox = context.messageAdapter(DeviceOutbound.class, FromSession::new);
    this.presenceInbox = context.messageAdapter(ServerFrame.class, PresencePush::new);
    this.requests = new Requests(context, timers, deps, socket, sessionInbox);
  }

  // ---- awaiting hello: pings are answered, anything else waits for a checked hello ----

  private Behavior<Command> awaitingHello() {
    return beforeHello(Behaviors.receive(Command.class)
        .onMessage(Inbound.class, msg -> read(msg, frame -> frame instanceof ClientFrame.Hello hello
            ? checkHello(hello)
            : helloRequired(), null)));
  }

  /** The hello's token is good; its device is being looked up and registered with the account's inbox. */
  private Behavior<Command> checkingHello() {
    return beforeHello(Behaviors.receive(Command.class)
        .onMessage(Inbound.class, msg -> read(msg, frame -> frame instanceof ClientFrame.Hello
            ? alreadyAuthenticated()
            : helloRequired(), null))
        .onMessage(HelloChecked.class, this::onHelloChecked));
  }

  /** Nothing is in flight before the hello: a shutdown closes at once. */
  private Behavior<Command> beforeHello(BehaviorBuilder<Command> builder) {
    return inEveryState(builder
        .onMessageEquals(HelloTimeout.INSTANCE, () -> endWith(error(ErrorCode.HELLO_REQUIRED,
            "no hello within " + deps.session().helloTimeout().toSeconds() + " s"), CLOSE_HELLO_TIMEOUT,
            "hello_timeout", null))
        .onMessage(Shutdown.class, msg -> endWith(serverRestart(msg), CLOSE_SERVICE_RESTART, "service_restart",
            null)), null)
        .build();
  }

  private Behavior<Command> checkHello(ClientFrame.Hello hello) {
    Principal principal;
    try {
      principal = deps.verifier().verify(hello.token());
    } catch (AuthException e) {
      ErrorCode code = switch (e.reason()) {
        case MISSING -> ErrorCode.UNAUTHENTICATED;
        case EXPIRED -> ErrorCode.TOKEN_EXPIRED;
        case INVALID -> ErrorCode.TOKEN_INVALID;
      };
      return endWith(error(code, e.getMessage()), CLOSE_UNAUTHORIZED, "unauthorized", null);
    }
    EntityRef<Inbox.Command> inbox = deps.sharding().entityRefFor(Inbox.ENTITY_KEY, principal.accountId());
    CompletionStage<Inbox.Registration> registered = inDirectory(principal.accountId(), hello.device())
        .thenCompose(known -> known
            ? inbox.<Inbox.Registration>ask(replyTo -> new Inbox.RegisterDevice(hello.device(), replyTo),
                deps.session().askTimeout())
            : CompletableFuture.completedFuture(null));
    context.pipeToSelf(registered,
        (registration, failure) -> new HelloChecked(hello, principal, registration, failure));
    return checkingHello();
  }

  /**
   * Whether the device has a directory entry: the node's cached list answers a known device at once; a
   * device the cache does not list is looked up in the directory itself before it is refused.
   */
  private CompletionStage<Boolean> inDirectory(String accountId, int device) {
    return deps.directory().cachedDevices(accountId).thenCompose(cached -> cached.devices().contains(device)
        ? CompletableFuture.completedFuture(true)
        : deps.directory().devices(accountId).thenApply(current -> current.devices().contains(device)));
  }

  private Behavior<Command> onHelloChecked(HelloChecked checked) {
    if (checked.failure() != null) {
      return endWith(error(ErrorCode.UNAVAILABLE, "could not register the device, try again"),
          CLOSE_SESSION_MOVED, "unavailable", null);
    }
    if (checked.registration() == null) {
      return endWith(error(ErrorCode.UNKNOWN_DEVICE, "this device has no keys in the key directory; register"
          + " them, then connect"), CLOSE_UNKNOWN_DEVICE, "unknown_device", null);
    }
    if (checked.registration() instanceof Inbox.TooManyDevices tooMany) {
      return endWith(error(ErrorCode.TOO_MANY_DEVICES, "at most " + tooMany.limit() + " devices per user"),
          CLOSE_TOO_MANY_DEVICES, "too_many_devices", null);
    }
    timers.cancel(HelloTimeout.INSTANCE);
    DeviceAddress device = new DeviceAddress(checked.principal().accountId(), checked.hello().device());
    session(device).tell(new DeviceSession.Bind(sessionInbox, checked.hello().cursors()));
    timers.startSingleTimer(AttachTimeout.INSTANCE, deps.session().askTimeout());
    return attaching(device);
  }

  // ---- attaching: requests are served while the device's session binds this connection ----

  private Behavior<Command> attaching(DeviceAddress device) {
    BehaviorBuilder<Command> builder = Behaviors.receive(Command.class)
        .onMessage(Inbound.class, msg -> read(msg, frame -> request(frame, device, null), null))
        .onMessage(Shutdown.class, msg -> shutdown(msg, device, null));
    builder = answering(builder, () -> stay(null));
    builder = untilAttached(builder, device, session -> live(device, session));
    return inEveryState(builder, null).build();
  }

  /** What a connection waits for from its session before it is attached; {@code then}: the state after. */
  private BehaviorBuilder<Command> untilAttached(BehaviorBuilder<Command> builder, DeviceAddress device,
      Function<ActorRef<DeviceSession.Command>, Behavior<Command>> then) {
    return builder
        .onMessage(FromSession.class, msg -> {
          if (msg.message() instanceof DeviceOutbound.Attached attached) {
            attach(device, attached.session());
            return socket.isClosed() ? closed(attached.session()) : then.apply(attached.session());
          }
          return msg.message() instanceof DeviceOutbound.Push ? Behaviors.same() : sessionLetGo(msg.message(), null);
        })
        .onMessageEquals(AttachTimeout.INSTANCE, () -> endWith(new ServerFrame.Reconnect(jitter(250, 2000),
            "session_unavailable"), CLOSE_SESSION_MOVED, "session_unavailable", null));
  }

  private void attach(DeviceAddress device, ActorRef<DeviceSession.Command> session) {
    timers.cancel(AttachTimeout.INSTANCE);
    context.watchWith(session, new SessionGone());
    timers.startTimerWithFixedDelay(KeepAliveTick.INSTANCE, KEEP_ALIVE_EVERY);
    socket.send(new ServerFrame.Welcome(device.user(), device.device(), WebSocketFlow.HEARTBEAT.toMillis(),
        deps.protocol().maxFrameBytes()));
    checkKeys(device);
    deps.presence().tell(new Presence.Connected(device.user(), presenceInbox, context.getSelf()));
  }

  /** A device whose one-time prekeys are low hears so right after welcome (docs/protocol.md). */
  private void checkKeys(DeviceAddress device) {
    context.ask(KeyDirectory.Reply.class,
        deps.sharding().entityRefFor(KeyDirectory.ENTITY_KEY, device.user()), deps.session().askTimeout(),
        replyTo -> new KeyDirectory.GetStatus(device.device(), replyTo),
        (status, failure) -> new KeysChecked(status));
  }

  // ---- live: attached to the session; requests, pushes, keep-alive and acks ----

  private Behavior<Command> live(DeviceAddress device, ActorRef<DeviceSession.Command> session) {
    BehaviorBuilder<Command> builder = Behaviors.receive(Command.class)
        .onMessage(Inbound.class, msg -> read(msg, frame -> request(frame, device, session), session))
        .onMessage(Shutdown.class, msg -> shutdown(msg, device, session));
    builder = answering(builder, () -> stay(session));
    builder = whileAttached(builder, device, session);
    return inEveryState(builder, session).build();
  }

  /** What an attached connection hears from its session, the presence and the key directory. */
  private BehaviorBuilder<Command> whileAttached(BehaviorBuilder<Command> builder, DeviceAddress device,
                                                 ActorRef<DeviceSession.Command> session) {
    return builder
        .onMessage(FromSession.class, msg -> {
          if (msg.message() instanceof DeviceOutbound.Push push) {
            socket.send(push.frame());
            if (push.frame() instanceof ServerFrame.Member member) {
              deps.presence().tell(new Presence.ConversationChanged(device.user(), member.conversationId()));
            }
            return stay(session);
          }
          return msg.message() instanceof DeviceOutbound.Attached ? Behaviors.same()
              : sessionLetGo(msg.message(), session);
        })
        .onMessage(PresencePush.class, msg -> {
          socket.send(msg.frame());
          return stay(session);
        })
        .onMessage(KeysChecked.class, msg -> {
          if (msg.status() instanceof KeyDirectory.Status status && status.low()) {
            socket.send(new ServerFrame.KeysLow(status.device(), status.oneTimePreKeys()));
          }
          return stay(session);
        })
        .onMessageEquals(KeepAliveTick.INSTANCE, () -> {
          session(device).tell(new DeviceSession.KeepAlive(sessionInbox));
          return Behaviors.same();
        })
        .onMessage(SessionGone.class, msg -> endWith(sessionMoved(), CLOSE_SESSION_MOVED, "session_moved", session));
  }

  /** The session is done with this connection: the device was unlinked, another connection took over, or it ended. */
  private Behavior<Command> sessionLetGo(DeviceOutbound message, ActorRef<DeviceSession.Command> session) {
    if (message instanceof DeviceOutbound.Unlinked) {
      // the session has let go of this connection already: nothing to unbind
      return endWith(error(ErrorCode.UNKNOWN_DEVICE, "this device was unlinked; register its keys to use it"),
          CLOSE_UNKNOWN_DEVICE, "unknown_device", null);
    }
    if (message instanceof DeviceOutbound.Displaced) {
      // the new connection owns the session now: do not unbind it
      return endWith(null, CLOSE_REPLACED, "session_replaced", null);
    }
    return endWith(sessionMoved(), CLOSE_SESSION_MOVED, "session_moved", session);
  }

  // ---- draining: the node shuts down; requests already read are answered, no more are read ----

  /**
   * Requests in flight are answered first (each ends within the ask timeout), so the client gets the acks of
   * what was stored and the entities are idle before sharding hands them off. Then {@code reconnect} and
   * close. {@code session} is null while the session has not attached this connection yet.
   */
  private Behavior<Command> draining(DeviceAddress device, ActorRef<DeviceSession.Command> session,
                                     ServerFrame.Reconnect reconnect) {
    BehaviorBuilder<Command> builder = Behaviors.receive(Command.class)
        .onMessage(Inbound.class, msg -> release(msg.ackTo()))
        .onMessage(Shutdown.class, msg -> shutdown(msg, device, session));
    builder = answering(builder, () -> requests.idle()
        ? endWith(reconnect, CLOSE_SERVICE_RESTART, "service_restart", session)
        : stay(session));
    builder = session == null
        ? untilAttached(builder, device, attached -> draining(device, attached, reconnect))
        : whileAttached(builder, device, session);
    return inEveryState(builder, session).build();
  }

  private Behavior<Command> shutdown(Shutdown msg, DeviceAddress device, ActorRef<DeviceSession.Command> session) {
    ServerFrame.Reconnect reconnect = serverRestart(msg);
    return requests.idle()
        ? endWith(reconnect, CLOSE_SERVICE_RESTART, "service_restart", session)
        : draining(device, session, reconnect);
  }

  // ---- closed: the close frame is queued; frames still arriving are dropped until the stream ends ----

  /** {@code session}: the attached session, unbound when the stream ends (null when there is none to unbind). */
  private Behavior<Command> closed(ActorRef<DeviceSession.Command> session) {
    requests.releaseReads();
    timers.cancelAll();
    if (!socket.hasStream()) {
      // opened for an upgrade whose stream never started (the client left before the answer): no stream end
      // will come. A stream that started has attached the queue, and its end is waited for
      return Behaviors.stopped();
    }
    return inEveryState(Behaviors.receive(Command.class)
        .onMessage(Inbound.class, msg -> release(msg.ackTo()))
        .onMessage(FromSession.class, msg -> {
          DeviceOutbound message = msg.message();
          if (message instanceof DeviceOutbound.Attached attached) {
            return closed(attached.session()); // attached after the close: still unbound in order at the end
          }
          return message instanceof DeviceOutbound.Displaced || message instanceof DeviceOutbound.Unlinked
              ? closed(null) // the session has let go of this connection already
              : Behaviors.same();
        }), session)
        .onAnyMessage(msg -> Behaviors.same()) // answers and timers of the states before
        .build();
  }

  /** Sends {@code last} (if any), then the close frame, then completes the socket. */
  private Behavior<Command> endWith(ServerFrame last, int closeCode, String reason,
                                    ActorRef<DeviceSession.Command> session) {
    socket.close(last, closeCode, reason);
    return closed(session);
  }

  // ---- shared by the states ----

  /** The stream's start and end, and the metric, whatever the state; {@code session} is unbound at the end. */
  private BehaviorBuilder<Command> inEveryState(BehaviorBuilder<Command> builder,
                                                ActorRef<DeviceSession.Command> session) {
    return builder
        .onMessage(StreamStarted.class, msg -> release(msg.ackTo()))
        .onMessageEquals(StreamEnded.INSTANCE, () -> streamEnded(session))
        .onMessage(StreamFailed.class, msg -> streamEnded(session))
        .onSignal(PostStop.class, signal -> {
          Metrics.connectionClosed();
          return Behaviors.same();
        });
  }

  private Behavior<Command> streamEnded(ActorRef<DeviceSession.Command> session) {
    if (session != null) {
      // the same direct route as the acks, so the session has every ack before it lets go of the connection
      session.tell(new DeviceSession.Unbind(sessionInbox));
    }
    return Behaviors.stopped();
  }

  /** Answers to requests go out; {@code then} says what the state does after each. */
  private BehaviorBuilder<Command> answering(BehaviorBuilder<Command> builder, Supplier<Behavior<Command>> then) {
    return builder
        .onMessage(Answered.class, msg -> {
          requests.answered(msg.frames());
          return then.get();
        })
        .onMessage(PostAnswered.class, msg -> {
          requests.postAnswered(msg.posted());
          return then.get();
        })
        .onMessage(SendLimited.class, msg -> {
          requests.sendLimited(msg.tag(), msg.retryAfterMs());
          return then.get();
        })
        .onMessageEquals(SweepSends.INSTANCE, () -> {
          requests.sweepSends();
          return then.get();
        });
  }

  /**
   * Reads one frame: errors and pings are answered here, any other client frame goes to {@code onFrame}.
   * The next frame is asked for unless too many requests are in flight. {@code session}: the state's, for the
   * close of a client too slow for the answers.
   */
  private Behavior<Command> read(Inbound inbound, Function<ClientFrame, Behavior<Command>> onFrame,
                                 ActorRef<DeviceSession.Command> session) {
    Behavior<Command> next = decode(inbound.frame(), onFrame);
    requests.readNext(inbound.ackTo());
    return socket.isClosed() ? closed(session) : next;
  }

  private Behavior<Command> decode(WebSocketFlow.InboundFrame frame, Function<ClientFrame, Behavior<Command>> onFrame) {
    if (frame instanceof WebSocketFlow.TooLarge) {
      socket.send(error(ErrorCode.FRAME_TOO_LARGE, "frames are at most " + deps.protocol().maxFrameBytes() + " bytes"));
      return Behaviors.same();
    }
    if (frame instanceof WebSocketFlow.Binary) {
      socket.send(error(ErrorCode.BINARY_NOT_SUPPORTED, "frames are JSON text"));
      return Behaviors.same();
    }
    ClientFrame decoded;
    try {
      decoded = deps.codec().decode(((WebSocketFlow.Text) frame).text());
    } catch (InvalidFrameException e) {
      socket.send(error(e.code(), e.getMessage()).withRequest(e.requestId(), e.conversationId(), e.idempotencyKey()));
      return Behaviors.same();
    }
    if (decoded instanceof ClientFrame.Ping ping) {
      socket.send(new ServerFrame.Pong(ping.nonce()));
      return Behaviors.same();
    }
    return onFrame.apply(decoded);
  }

  /** A frame of a device that said hello. */
  private Behavior<Command> request(ClientFrame frame, DeviceAddress device, ActorRef<DeviceSession.Command> session) {
    if (frame instanceof ClientFrame.Hello) {
      return alreadyAuthenticated();
    }
    requests.handle(frame, device, session);
    return Behaviors.same();
  }

  private Behavior<Command> helloRequired() {
    socket.send(error(ErrorCode.HELLO_REQUIRED, "say hello first"));
    return Behaviors.same();
  }

  private Behavior<Command> alreadyAuthenticated() {
    socket.send(error(ErrorCode.ALREADY_AUTHENTICATED, "hello was already received"));
    return Behaviors.same();
  }

  /** The state goes on unless what it just sent closed the socket (a client too far behind). */
  private Behavior<Command> stay(ActorRef<DeviceSession.Command> session) {
    return socket.isClosed() ? closed(session) : Behaviors.same();
  }

  private static Behavior<Command> release(ActorRef<StreamAck> ackTo) {
    ackTo.tell(StreamAck.INSTANCE);
    return Behaviors.same();
  }

  private EntityRef<DeviceSession.Command> session(DeviceAddress device) {
    return deps.sharding().entityRefFor(DeviceSession.ENTITY_KEY, device.entityId());
  }

  private static ServerFrame.Reconnect serverRestart(Shutdown shutdown) {
    return new ServerFrame.Reconnect(shutdown.retryAfter().toMillis() + jitter(0, 1000), "server_restart");
  }

  private static ServerFrame.Reconnect sessionMoved() {
    return new ServerFrame.Reconnect(jitter(250, 2000), "session_moved");
  }

  private static ServerFrame.Error error(ErrorCode code, String message) {
    return ServerFrame.Error.of(code, message);
  }

  private static long jitter(long min, long max) {
    return ThreadLocalRandom.current().nextLong(min, max + 1);
  }
}
