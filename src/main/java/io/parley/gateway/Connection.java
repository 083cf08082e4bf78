package io.parley.gateway;

import io.parley.auth.AuthException;
import io.parley.auth.Principal;
import io.parley.auth.TokenVerifier;
import io.parley.config.ParleySettings.ProtocolSettings;
import io.parley.config.ParleySettings.SessionSettings;
import io.parley.conversation.Conversation;
import io.parley.conversation.ConversationEvent;
import io.parley.conversation.ConversationHistory;
import io.parley.conversation.SealedEnvelope;
import io.parley.directory.DeviceDirectory;
import io.parley.directory.KeyDirectory;
import io.parley.identity.DeviceAddress;
import io.parley.inbox.Inbox;
import io.parley.limits.RateLimits;
import io.parley.presence.Presence;
import io.parley.observability.Metrics;
import io.parley.protocol.ClientFrame;
import io.parley.protocol.Envelope;
import io.parley.protocol.ErrorCode;
import io.parley.protocol.FrameCodec;
import io.parley.protocol.InvalidFrameException;
import io.parley.protocol.ServerFrame;
import io.parley.session.DeviceOutbound;
import io.parley.session.DeviceSession;
import io.parley.session.EventFrames;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ThreadLocalRandom;
import java.util.function.Function;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.PostStop;
import org.apache.pekko.actor.typed.javadsl.AbstractBehavior;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.AskPattern;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.Receive;
import org.apache.pekko.actor.typed.javadsl.TimerScheduler;
import org.apache.pekko.cluster.sharding.typed.javadsl.ClusterSharding;
import org.apache.pekko.cluster.sharding.typed.javadsl.EntityRef;
import org.apache.pekko.japi.function.Function2;

/**
 * One client WebSocket: decodes frames, authenticates the hello, binds the device session and turns
 * requests into commands for conversations. Outbound frames go through {@link Outbound}, which bounds
 * what a slow client can make the server hold.
 */
public final class Connection extends AbstractBehavior<Connection.Command> {

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

  /** A request finished: the frames to send (possibly none). */
  private record Answered(List<ServerFrame> frames) implements Command {}

  /** A conversation's answer to one of this connection's sends. */
  private record PostAnswered(Conversation.Posted posted) implements Command {}

  /** The send limit refused the send with {@code tag}. */
  private record SendLimited(long tag, long retryAfterMs) implements Command {}

  private enum SweepSends implements Command { INSTANCE }

  /** A send on its way to its conversation, by tag. */
  private record PendingSend(String conversationId, String idempotencyKey, long startedNanos) {}

  /** Close codes; see docs/protocol.md. */
  public static final int CLOSE_REPLACED = 4000;
  public static final int CLOSE_HELLO_TIMEOUT = 4001;
  public static final int CLOSE_UNAUTHORIZED = 4003;
  public static final int CLOSE_TOO_MANY_DEVICES = 4004;
  public static final int CLOSE_UNKNOWN_DEVICE = 4005;
  public static final int CLOSE_TOO_SLOW = 4008;
  public static final int CLOSE_SESSION_MOVED = 4009;
  public static final int CLOSE_SERVICE_RESTART = 1012;

  private static final int MAX_PENDING_REQUESTS = 64;
  private static final Duration KEEP_ALIVE_EVERY = Duration.ofSeconds(60);
  private static final Duration SEND_SWEEP_EVERY = Duration.ofSeconds(1);

  /** Everything a connection needs from its node. */
  public record Deps(TokenVerifier verifier, ClusterSharding sharding, ConversationHistory history,
                     SessionSettings session, ProtocolSettings protocol, FrameCodec codec,
                     DeviceDirectory directory, ActorRef<Presence.Command> presence, RateLimits limits) {}

  public static Behavior<Command> create(Deps deps, Outbound outbound) {
    return Behaviors.setup(ctx -> Behaviors.withTimers(timers -> new Connection(ctx, timers, deps, outbound)));
  }

  private final TimerScheduler<Command> timers;
  private final Deps deps;
  private final Outbound outbound;
  private final ActorRef<DeviceOutbound> sessionInbox;
  private final ActorRef<ServerFrame> presenceInbox;
  private final ActorRef<Conversation.Posted> postAnswers;
  private final Map<Long, PendingSend> sends = new HashMap<>();
  private long lastSendTag;
  /** The bound session once it has attached this connection (null before): acks go to it directly. */
  private ActorRef<DeviceSession.Command> attachedSession;
  private final ArrayDeque<ActorRef<StreamAck>> heldAcks = new ArrayDeque<>();
  private DeviceAddress device;
  private boolean helloInProgress;
  private boolean closing;
  /** Set when the node shuts down while requests are in flight: sent once they are all answered. */
  private ServerFrame.Reconnect drained;
  private int pending;

  private Connection(ActorContext<Command> ctx, TimerScheduler<Command> timers, Deps deps, Outbound outbound) {
    super(ctx);
    this.timers = timers;
    this.deps = deps;
    this.outbound = outbound;
    this.sessionInbox = ctx.messageAdapter(DeviceOutbound.class, FromSession::new);
    this.presenceInbox = ctx.messageAdapter(ServerFrame.class, PresencePush::new);
    this.postAnswers = ctx.messageAdapter(Conversation.Posted.class, PostAnswered::new);
    timers.startSingleTimer(HelloTimeout.INSTANCE, deps.session().helloTimeout());
    Metrics.connectionOpened();
  }

  @Override
  public Receive<Command> createReceive() {
    return newReceiveBuilder()
        .onMessage(StreamStarted.class, msg -> release(msg.ackTo()))
        .onMessage(Inbound.class, this::onInbound)
        .onMessage(HelloChecked.class, this::onHelloChecked)
        .onMessage(Answered.class, this::onAnswered)
        .onMessage(PostAnswered.class, msg -> onPostAnswered(msg.posted()))
        .onMessage(SendLimited.class, this::onSendLimited)
        .onMessageEquals(SweepSends.INSTANCE, this::sweepSends)
        .onMessage(FromSession.class, msg -> onSession(msg.message()))
        .onMessage(PresencePush.class, msg -> {
          if (isAttached()) {
            send(msg.frame());
          }
          return this;
        })
        .onMessage(KeysChecked.class, this::onKeysChecked)
        .onMessage(HelloTimeout.class, msg -> onHelloTimeout())
        .onMessage(AttachTimeout.class, msg -> onAttachTimeout())
        .onMessage(KeepAliveTick.class, msg -> keepAlive())
        .onMessage(SessionGone.class, msg -> endWith(new ServerFrame.Reconnect(jitter(250, 2000), "session_moved"),
            CLOSE_SESSION_MOVED, "session_moved"))
        .onMessage(Shutdown.class, this::onShutdown)
        .onMessageEquals(StreamEnded.INSTANCE, this::onStreamEnded)
        .onMessage(StreamFailed.class, msg -> onStreamEnded())
        .onSignal(PostStop.class, stopped -> {
          Metrics.connectionClosed();
          return this;
        })
        .build();
  }

  // ---- inbound ----

  private Behavior<Command> onInbound(Inbound msg) {
    if (closing || drained != null) {
      return release(msg.ackTo());
    }
    WebSocketFlow.InboundFrame frame = msg.frame();
    if (frame instanceof WebSocketFlow.TooLarge) {
      send(error(ErrorCode.FRAME_TOO_LARGE, "frames are at most " + deps.protocol().maxFrameBytes() + " bytes"));
    } else if (frame instanceof WebSocketFlow.Binary) {
      send(error(ErrorCode.BINARY_NOT_SUPPORTED, "frames are JSON text"));
    } else {
      handleText(((WebSocketFlow.Text) frame).text());
    }
    return pending >= MAX_PENDING_REQUESTS ? hold(msg.ackTo()) : release(msg.ackTo());
  }

  private void handleText(String text) {
    ClientFrame frame;
    try {
      frame = deps.codec().decode(text);
    } catch (InvalidFrameException e) {
      send(error(e.code(), e.getMessage()).withRequest(e.requestId(), e.conversationId(), e.idempotencyKey()));
      return;
    }
    if (frame instanceof ClientFrame.Hello hello) {
      onHello(hello);
    } else if (frame instanceof ClientFrame.Ping ping) {
      send(new ServerFrame.Pong(ping.nonce()));
    } else if (device == null) {
      send(error(ErrorCode.HELLO_REQUIRED, "say hello first"));
    } else {
      onRequest(frame);
    }
  }

  private void onHello(ClientFrame.Hello hello) {
    if (device != null || helloInProgress) {
      send(error(ErrorCode.ALREADY_AUTHENTICATED, "hello was already received"));
      return;
    }
    Principal principal;
    try {
      principal = deps.verifier().verify(hello.token());
    } catch (AuthException e) {
      ErrorCode code = switch (e.reason()) {
        case MISSING -> ErrorCode.UNAUTHENTICATED;
        case EXPIRED -> ErrorCode.TOKEN_EXPIRED;
        case INVALID -> ErrorCode.TOKEN_INVALID;
      };
      endWith(error(code, e.getMessage()), CLOSE_UNAUTHORIZED, "unauthorized");
      return;
    }
    helloInProgress = true;
    EntityRef<Inbox.Command> inbox = deps.sharding().entityRefFor(Inbox.ENTITY_KEY, principal.accountId());
    CompletionStage<Inbox.Registration> registered = inDirectory(principal.accountId(), hello.device())
        .thenCompose(known -> known
            ? inbox.<Inbox.Registration>ask(replyTo -> new Inbox.RegisterDevice(hello.device(), replyTo),
                deps.session().askTimeout())
            : CompletableFuture.completedFuture(null));
    getContext().pipeToSelf(registered,
        (registration, failure) -> new HelloChecked(hello, principal, registration, failure));
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
    helloInProgress = false;
    if (closing) {
      return this;
    }
    if (checked.failure() != null) {
      return endWith(error(ErrorCode.UNAVAILABLE, "could not register the device, try again"),
          CLOSE_SESSION_MOVED, "unavailable");
    }
    if (checked.registration() == null) {
      return endWith(error(ErrorCode.UNKNOWN_DEVICE, "this device has no keys in the key directory; register"
          + " them, then connect"), CLOSE_UNKNOWN_DEVICE, "unknown_device");
    }
    if (checked.registration() instanceof Inbox.TooManyDevices tooMany) {
      return endWith(error(ErrorCode.TOO_MANY_DEVICES, "at most " + tooMany.limit() + " devices per user"),
          CLOSE_TOO_MANY_DEVICES, "too_many_devices");
    }
    timers.cancel(HelloTimeout.INSTANCE);
    device = new DeviceAddress(checked.principal().accountId(), checked.hello().device());
    session().tell(new DeviceSession.Bind(sessionInbox, checked.hello().cursors()));
    timers.startSingleTimer(AttachTimeout.INSTANCE, deps.session().askTimeout());
    return this;
  }

  private void onRequest(ClientFrame frame) {
    if (frame instanceof ClientFrame.Send send) {
      onSend(send);
    } else if (frame instanceof ClientFrame.DeliveryAck ack) {
      if (attachedSession != null) {
        attachedSession.tell(new DeviceSession.Acked(sessionInbox, ack.conversationId(), ack.seq()));
      }
    } else if (frame instanceof ClientFrame.Create create) {
      askConversation(create.conversationId(),
          replyTo -> new Conversation.Create(device.user(), create.participants(), replyTo),
          accepted -> new ServerFrame.Created(create.requestId(), create.conversationId(), accepted.seq()),
          create.requestId(), null);
    } else if (frame instanceof ClientFrame.AddMember add) {
      askConversation(add.conversationId(),
          replyTo -> new Conversation.AddMember(device.user(), add.user(), replyTo),
          accepted -> new ServerFrame.Ok(add.requestId(), add.conversationId(), accepted.seq()),
          add.requestId(), null);
    } else if (frame instanceof ClientFrame.RemoveMember remove) {
      askConversation(remove.conversationId(),
          replyTo -> new Conversation.RemoveMember(device.user(), remove.user(), replyTo),
          accepted -> new ServerFrame.Ok(remove.requestId(), remove.conversationId(), accepted.seq()),
          remove.requestId(), null);
    } else if (frame instanceof ClientFrame.Fetch fetch) {
      onFetch(fetch);
    } else if (frame instanceof ClientFrame.Ephemeral ephemeral) {
      onEphemeral(ephemeral);
    } else if (frame instanceof ClientFrame.Typing typing) {
      conversation(typing.conversationId()).tell(new Conversation.Typing(device, typing.active()));
    } else if (frame instanceof ClientFrame.ListConversations list) {
      onListConversations(list);
    } else if (frame instanceof ClientFrame.Read read) {
      onRead(read);
    } else if (frame instanceof ClientFrame.Receipts receipts) {
      onReceipts(receipts);
    } else if (frame instanceof ClientFrame.PresenceQuery query) {
      onPresenceQuery(query);
    }
  }

  private void onSend(ClientFrame.Send send) {
    List<SealedEnvelope> envelopes;
    try {
      envelopes = seal(send.envelopes());
    } catch (InvalidFrameException e) {
      send(error(e.code(), e.getMessage()).withRequest(null, send.conversationId(), send.idempotencyKey()));
      return;
    }
    // the limit is checked before the conversation sees the send: a refused send stores nothing and leaves
    // its idempotency key unused, so the retry after retryAfterMs is stored as new
    DeviceAddress me = device;
    long tag = ++lastSendTag;
    sends.put(tag, new PendingSend(send.conversationId(), send.idempotencyKey(), System.nanoTime()));
    pending++;
    if (!timers.isTimerActive(SweepSends.INSTANCE)) {
      timers.startTimerWithFixedDelay(SweepSends.INSTANCE, SEND_SWEEP_EVERY);
    }
    EntityRef<Conversation.Command> conversation = conversation(send.conversationId());
    ActorRef<Command> self = getContext().getSelf();
    deps.limits().trySend(me.user()).whenComplete((decision, failure) -> {
      if (decision == null || decision.allowed()) {
        conversation.tell(new Conversation.Post(me, send.idempotencyKey(), envelopes, tag, postAnswers));
      } else {
        self.tell(new SendLimited(tag, decision.retryAfterMs()));
      }
    });
  }

  private Behavior<Command> onPostAnswered(Conversation.Posted posted) {
    PendingSend send = sends.remove(posted.tag());
    if (send == null) {
      return this; // answered unavailable already, after the ask timeout
    }
    ServerFrame frame;
    if (posted.reply() instanceof Conversation.Accepted accepted) {
      Metrics.acknowledged(accepted.duplicate(), Duration.ofNanos(System.nanoTime() - send.startedNanos()));
      frame = new ServerFrame.Ack(send.conversationId(), send.idempotencyKey(), accepted.seq(), accepted.duplicate());
    } else {
      frame = refusedFrame(posted.reply(), null, send.conversationId(), send.idempotencyKey());
    }
    return answered(List.of(frame));
  }

  private Behavior<Command> onSendLimited(SendLimited limited) {
    PendingSend send = sends.remove(limited.tag());
    if (send == null) {
      return this;
    }
    return answered(List.of(error(ErrorCode.RATE_LIMITED,
            "too many messages; retry after retryAfterMs with the same idempotency key")
        .withRequest(null, send.conversationId(), send.idempotencyKey())
        .withRetryAfter(limited.retryAfterMs())));
  }

  /** Sends whose conversation has not answered within the ask timeout are answered unavailable (retry). */
  private Behavior<Command> sweepSends() {
    long expired = System.nanoTime() - deps.session().askTimeout().toNanos();
    List<ServerFrame> timedOut = new ArrayList<>();
    sends.entrySet().removeIf(entry -> {
      PendingSend send = entry.getValue();
      if (send.startedNanos() - expired > 0) {
        return false;
      }
      timedOut.add(error(ErrorCode.UNAVAILABLE, "the request timed out, retry it")
          .withRequest(null, send.conversationId(), send.idempotencyKey()));
      return true;
    });
    if (sends.isEmpty()) {
      timers.cancel(SweepSends.INSTANCE);
    }
    Behavior<Command> next = this;
    for (ServerFrame frame : timedOut) {
      next = answered(List.of(frame));
    }
    return next;
  }

  /**
   * Checked like a send (envelope shape and size, the limit, then the conversation: participants, addressing)
   * and handed on to the recipients' live devices; nothing is stored. Answered {@code ok} (seq 0) when the
   * frame carries a {@code requestId}, and with an error whenever it is refused.
   */
  private void onEphemeral(ClientFrame.Ephemeral ephemeral) {
    String requestId = ephemeral.requestId();
    String conversationId = ephemeral.conversationId();
    List<SealedEnvelope> envelopes;
    try {
      envelopes = seal(ephemeral.envelopes());
    } catch (InvalidFrameException e) {
      send(error(e.code(), e.getMessage()).withRequest(requestId, conversationId, null));
      return;
    }
    DeviceAddress me = device;
    CompletionStage<List<ServerFrame>> answer = deps.limits().tryEphemeral(me.user(), conversationId)
        .thenCompose(decision -> decision.allowed()
            ? conversation(conversationId)
                .<Conversation.Reply>ask(replyTo -> new Conversation.Ephemeral(me, envelopes, replyTo),
                    deps.session().askTimeout())
                .thenApply(reply -> reply instanceof Conversation.Accepted
                    ? (requestId == null ? List.<ServerFrame>of() : List.<ServerFrame>of(
                        new ServerFrame.Ok(requestId, conversationId, 0)))
                    : List.of(refusedFrame(reply, requestId, conversationId, null)))
            : CompletableFuture.completedFuture(List.of(error(ErrorCode.RATE_LIMITED,
                    "too many ephemeral frames in this conversation; retry after retryAfterMs")
                .withRequest(requestId, conversationId, null)
                .withRetryAfter(decision.retryAfterMs()))));
    answerWith(answer, requestId, conversationId, null);
  }

  /** Presence of users this user shares a conversation with, read from Redis by the node's {@link Presence}. */
  private void onPresenceQuery(ClientFrame.PresenceQuery query) {
    CompletionStage<List<ServerFrame>> answer = AskPattern.<Presence.Command, Presence.Answer>ask(deps.presence(),
            replyTo -> new Presence.Query(device.user(), query.users(), replyTo), deps.session().askTimeout(),
            getContext().getSystem().scheduler())
        .thenApply(reply -> List.of(reply instanceof Presence.Statuses statuses
            ? new ServerFrame.Presences(query.requestId(), statuses.statuses().stream()
                .map(s -> new ServerFrame.Presence(s.user(), s.online(), s.online() ? null : s.lastSeen()))
                .toList())
            : error(ErrorCode.NOT_PARTICIPANT, "presence is shown only to users sharing a conversation")
                .withRequest(query.requestId(), null, null)));
    answerWith(answer, query.requestId(), null, null);
  }

  private List<SealedEnvelope> seal(List<Envelope> envelopes) {
    if (envelopes.size() > deps.protocol().maxEnvelopes()) {
      throw new InvalidFrameException(ErrorCode.PAYLOAD_TOO_LARGE,
          "at most " + deps.protocol().maxEnvelopes() + " envelopes per message");
    }
    List<SealedEnvelope> sealed = new ArrayList<>(envelopes.size());
    for (Envelope envelope : envelopes) {
      byte[] body = envelope.bytes();
      if (body.length > deps.protocol().maxEnvelopeBytes()) {
        throw new InvalidFrameException(ErrorCode.PAYLOAD_TOO_LARGE,
            "an envelope is at most " + deps.protocol().maxEnvelopeBytes() + " bytes");
      }
      sealed.add(new SealedEnvelope(envelope.user(), envelope.device(), envelope.type(), body));
    }
    return List.copyOf(sealed);
  }

  private void onFetch(ClientFrame.Fetch fetch) {
    long span = fetch.toSeq() - fetch.fromSeq() + 1;
    if (span > deps.protocol().maxFetchRange()) {
      send(error(ErrorCode.RANGE_TOO_LARGE, "fetch at most " + deps.protocol().maxFetchRange() + " seqs at once")
          .withRequest(fetch.requestId(), fetch.conversationId(), null));
      return;
    }
    DeviceAddress me = device;
    CompletionStage<List<ServerFrame>> answer = conversation(fetch.conversationId())
        .<Conversation.Reply>ask(replyTo -> new Conversation.GetInfo(me.user(), replyTo), deps.session().askTimeout())
        .thenCompose(reply -> {
          if (reply instanceof Conversation.Rejected rejected) {
            return CompletableFuture.completedFuture(List.<ServerFrame>of(
                rejectedFrame(rejected, fetch.requestId(), fetch.conversationId(), null)));
          }
          long lastSeq = ((Conversation.Info) reply).lastSeq();
          return deps.history().read(fetch.conversationId(), fetch.fromSeq(), Math.min(fetch.toSeq(), lastSeq),
                  (int) span)
              .thenApply(events -> {
                List<ServerFrame> frames = new ArrayList<>(events.size() + 1);
                for (ConversationEvent event : events) {
                  frames.add(EventFrames.forDevice(event, me));
                }
                frames.add(new ServerFrame.Fetched(fetch.requestId(), fetch.conversationId(), fetch.fromSeq(),
                    fetch.toSeq()));
                return frames;
              });
        });
    answerWith(answer, fetch.requestId(), fetch.conversationId(), null);
  }

  /** A read receipt: answered only when refused (not a participant, or beyond the last seq). */
  private void onRead(ClientFrame.Read read) {
    DeviceAddress me = device;
    CompletionStage<List<ServerFrame>> answer = conversation(read.conversationId())
        .<Conversation.Reply>ask(replyTo -> new Conversation.MarkRead(me, read.seq(), replyTo),
            deps.session().askTimeout())
        .thenApply(reply -> reply instanceof Conversation.Rejected rejected
            ? List.of(rejectedFrame(rejected, null, read.conversationId(), null))
            : List.of());
    answerWith(answer, null, read.conversationId(), null);
  }

  /** Every participant's latest markers, each read from that participant's inbox. */
  private void onReceipts(ClientFrame.Receipts request) {
    DeviceAddress me = device;
    String id = request.conversationId();
    CompletionStage<List<ServerFrame>> answer = conversation(id)
        .<Conversation.Reply>ask(replyTo -> new Conversation.GetInfo(me.user(), replyTo), deps.session().askTimeout())
        .thenCompose(reply -> {
          if (reply instanceof Conversation.Rejected rejected) {
            return CompletableFuture.completedFuture(List.<ServerFrame>of(
                rejectedFrame(rejected, request.requestId(), id, null)));
          }
          List<String> participants = ((Conversation.Info) reply).participants();
          List<CompletableFuture<ServerFrame.Markers>> markers = participants.stream()
              .map(user -> deps.sharding().entityRefFor(Inbox.ENTITY_KEY, user)
                  .<Inbox.Markers>ask(replyTo -> new Inbox.GetReceipts(id, replyTo), deps.session().askTimeout())
                  .thenApply(m -> new ServerFrame.Markers(user, m.delivered(), m.read()))
                  .toCompletableFuture())
              .toList();
          return CompletableFuture.allOf(markers.toArray(CompletableFuture[]::new))
              .thenApply(done -> List.<ServerFrame>of(new ServerFrame.Receipts(request.requestId(), id,
                  markers.stream().map(CompletableFuture::join).toList())));
        });
    answerWith(answer, request.requestId(), id, null);
  }

  private void onListConversations(ClientFrame.ListConversations list) {
    CompletionStage<List<ServerFrame>> answer = deps.sharding().entityRefFor(Inbox.ENTITY_KEY, device.user())
        .<Inbox.Conversations>ask(Inbox.ListConversations::new, deps.session().askTimeout())
        .thenApply(conversations -> List.of(new ServerFrame.Conversations(list.requestId(),
            conversations.joinedAt().entrySet().stream()
                .map(e -> new ServerFrame.Summary(e.getKey(), e.getValue()))
                .sorted(java.util.Comparator.comparing(ServerFrame.Summary::conversationId))
                .toList())));
    answerWith(answer, list.requestId(), null, null);
  }

  private void askConversation(String conversationId,
      Function<ActorRef<Conversation.Reply>, Conversation.Command> command,
      Function<Conversation.Accepted, ServerFrame> onAccepted, String requestId, String idempotencyKey) {
    answerWith(conversationAnswer(conversationId, command, onAccepted, requestId, idempotencyKey), requestId,
        conversationId, idempotencyKey);
  }

  private CompletionStage<List<ServerFrame>> conversationAnswer(String conversationId,
      Function<ActorRef<Conversation.Reply>, Conversation.Command> command,
      Function<Conversation.Accepted, ServerFrame> onAccepted, String requestId, String idempotencyKey) {
    return conversation(conversationId)
        .<Conversation.Reply>ask(command::apply, deps.session().askTimeout())
        .thenApply(reply -> List.of(reply instanceof Conversation.Accepted accepted
            ? onAccepted.apply(accepted)
            : refusedFrame(reply, requestId, conversationId, idempotencyKey)));
  }

  private void answerWith(CompletionStage<List<ServerFrame>> answer, String requestId, String conversationId,
                          String idempotencyKey) {
    pending++;
    getContext().pipeToSelf(answer, (frames, failure) -> new Answered(frames != null ? frames : List.of(
        error(ErrorCode.UNAVAILABLE, "the request timed out, retry it")
            .withRequest(requestId, conversationId, idempotencyKey))));
  }

  private Behavior<Command> onAnswered(Answered answered) {
    return answered(answered.frames());
  }

  /** A request is finished: its frames go out, and a held frame may be read again. */
  private Behavior<Command> answered(List<ServerFrame> frames) {
    pending--;
    frames.forEach(this::send);
    if (drained != null && pending == 0) {
      return endWith(drained, CLOSE_SERVICE_RESTART, "service_restart");
    }
    while (pending < MAX_PENDING_REQUESTS && !heldAcks.isEmpty()) {
      heldAcks.poll().tell(StreamAck.INSTANCE);
    }
    return this;
  }

  // ---- from the session ----

  private Behavior<Command> onSession(DeviceOutbound message) {
    if (message instanceof DeviceOutbound.Attached attached) {
      if (!isAttached()) {
        this.attachedSession = attached.session();
        timers.cancel(AttachTimeout.INSTANCE);
        getContext().watchWith(attached.session(), new SessionGone());
        timers.startTimerWithFixedDelay(KeepAliveTick.INSTANCE, KEEP_ALIVE_EVERY);
        send(new ServerFrame.Welcome(device.user(), device.device(), WebSocketFlow.HEARTBEAT.toMillis(),
            deps.protocol().maxFrameBytes()));
        checkKeys();
        deps.presence().tell(new Presence.Connected(device.user(), presenceInbox, getContext().getSelf()));
      }
      return this;
    }
    if (message instanceof DeviceOutbound.Push push) {
      if (isAttached()) {
        send(push.frame());
        if (push.frame() instanceof ServerFrame.Member member) {
          deps.presence().tell(new Presence.ConversationChanged(device.user(), member.conversationId()));
        }
      }
      return this;
    }
    if (message instanceof DeviceOutbound.Unlinked) {
      device = null; // the session has let go of this connection already
      return endWith(error(ErrorCode.UNKNOWN_DEVICE, "this device was unlinked; register its keys to use it"),
          CLOSE_UNKNOWN_DEVICE, "unknown_device");
    }
    if (message instanceof DeviceOutbound.Displaced) {
      device = null; // the new connection owns the session now: do not unbind it
      return endWith(null, CLOSE_REPLACED, "session_replaced");
    }
    return endWith(new ServerFrame.Reconnect(jitter(250, 2000), "session_moved"), CLOSE_SESSION_MOVED,
        "session_moved");
  }

  /** A device whose one-time prekeys are low hears so right after welcome (docs/protocol.md). */
  private void checkKeys() {
    getContext().ask(KeyDirectory.Reply.class,
        deps.sharding().entityRefFor(KeyDirectory.ENTITY_KEY, device.user()), deps.session().askTimeout(),
        replyTo -> new KeyDirectory.GetStatus(device.device(), replyTo),
        (status, failure) -> new KeysChecked(status));
  }

  private Behavior<Command> onKeysChecked(KeysChecked checked) {
    if (checked.status() instanceof KeyDirectory.Status status && status.low() && isAttached()) {
      send(new ServerFrame.KeysLow(status.device(), status.oneTimePreKeys()));
    }
    return this;
  }

  // ---- lifecycle ----

  private Behavior<Command> onHelloTimeout() {
    if (device == null) {
      return endWith(error(ErrorCode.HELLO_REQUIRED, "no hello within " + deps.session().helloTimeout().toSeconds()
          + " s"), CLOSE_HELLO_TIMEOUT, "hello_timeout");
    }
    return this;
  }

  private Behavior<Command> onAttachTimeout() {
    if (!isAttached()) {
      return endWith(new ServerFrame.Reconnect(jitter(250, 2000), "session_unavailable"), CLOSE_SESSION_MOVED,
          "session_unavailable");
    }
    return this;
  }

  private Behavior<Command> keepAlive() {
    if (device != null) {
      session().tell(new DeviceSession.KeepAlive(sessionInbox));
    }
    return this;
  }

  /**
   * The node is shutting down. Requests already in flight are answered first (each ends within the ask
   * timeout), so the client gets the acks of what was stored and the entities are idle before sharding
   * hands them off; frames that arrive meanwhile are not read. Then reconnect and close.
   */
  private Behavior<Command> onShutdown(Shutdown msg) {
    ServerFrame.Reconnect reconnect =
        new ServerFrame.Reconnect(msg.retryAfter().toMillis() + jitter(0, 1000), "server_restart");
    if (pending == 0) {
      return endWith(reconnect, CLOSE_SERVICE_RESTART, "service_restart");
    }
    drained = reconnect;
    return this;
  }

  private Behavior<Command> onStreamEnded() {
    if (device != null && isAttached()) {
      // the same direct route as the acks, so the session has every ack before it lets go of the connection
      attachedSession.tell(new DeviceSession.Unbind(sessionInbox));
    }
    return Behaviors.stopped();
  }

  /** Sends {@code last} (if any), then the close frame, then completes the socket. */
  private Behavior<Command> endWith(ServerFrame last, int closeCode, String reason) {
    if (closing) {
      return this;
    }
    closing = true;
    if (last != null) {
      outbound.offerFinal(deps.codec().encode(last));
    }
    outbound.offerFinal(deps.codec().encode(new ServerFrame.Close(closeCode, reason)));
    outbound.complete();
    while (!heldAcks.isEmpty()) {
      heldAcks.poll().tell(StreamAck.INSTANCE);
    }
    return this;
  }

  private void send(ServerFrame frame) {
    if (closing) {
      return;
    }
    if (frame instanceof ServerFrame.Error error && error.idempotencyKey() != null) {
      Metrics.rejected(error.code());
    }
    if (!outbound.offer(deps.codec().encode(frame))) {
      endWith(error(ErrorCode.TOO_SLOW, "client is too far behind; resume from your cursors"),
          CLOSE_TOO_SLOW, "too_slow");
    }
  }

  private Behavior<Command> hold(ActorRef<StreamAck> ackTo) {
    heldAcks.add(ackTo);
    return this;
  }

  private Behavior<Command> release(ActorRef<StreamAck> ackTo) {
    ackTo.tell(StreamAck.INSTANCE);
    return this;
  }

  private boolean isAttached() {
    return attachedSession != null;
  }

  private EntityRef<DeviceSession.Command> session() {
    return deps.sharding().entityRefFor(DeviceSession.ENTITY_KEY, device.entityId());
  }

  private EntityRef<Conversation.Command> conversation(String id) {
    return deps.sharding().entityRefFor(Conversation.ENTITY_KEY, id);
  }

  private static ServerFrame.Error error(ErrorCode code, String message) {
    return ServerFrame.Error.of(code, message);
  }

  private static ServerFrame refusedFrame(Conversation.Reply reply, String requestId, String conversationId,
                                          String idempotencyKey) {
    if (reply instanceof Conversation.DeviceMismatch mismatch) {
      return error(ErrorCode.DEVICE_MISMATCH, "envelopes do not match the participants' devices")
          .withRequest(requestId, conversationId, idempotencyKey)
          .withDevices(deviceRefs(mismatch.missing()), deviceRefs(mismatch.stale()));
    }
    return rejectedFrame((Conversation.Rejected) reply, requestId, conversationId, idempotencyKey);
  }

  private static List<ServerFrame.DeviceRef> deviceRefs(List<DeviceAddress> devices) {
    return devices.stream().map(d -> new ServerFrame.DeviceRef(d.user(), d.device())).toList();
  }

  private static ServerFrame rejectedFrame(Conversation.Rejected rejected, String requestId, String conversationId,
                                           String idempotencyKey) {
    return error(rejected.code(), rejected.message()).withRequest(requestId, conversationId, idempotencyKey);
  }

  private static long jitter(long min, long max) {
    return ThreadLocalRandom.current().nextLong(min, max + 1);
  }
}
