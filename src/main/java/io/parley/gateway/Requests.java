package io.parley.gateway;

import io.parley.conversation.Conversation;
import io.parley.conversation.ConversationEvent;
import io.parley.conversation.SealedEnvelope;
import io.parley.identity.DeviceAddress;
import io.parley.inbox.Inbox;
import io.parley.observability.Metrics;
import io.parley.presence.Presence;
import io.parley.protocol.ClientFrame;
import io.parley.protocol.Envelope;
import io.parley.protocol.ErrorCode;
import io.parley.protocol.InvalidFrameException;
import io.parley.protocol.ServerFrame;
import io.parley.session.DeviceOutbound;
import io.parley.session.DeviceSession;
import io.parley.session.EventFrames;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.function.Function;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.AskPattern;
import org.apache.pekko.actor.typed.javadsl.TimerScheduler;
import org.apache.pekko.cluster.sharding.typed.javadsl.EntityRef;

/**
 * The requests of one {@link Connection}: each request of its device becomes a command for a conversation,
 * an inbox, the presence or the device's session, and its answer goes back to the client. While
 * {@link #MAX_PENDING_REQUESTS} are unanswered no further frame is read. Shared by the connection's states.
 */
final class Requests {
  static final int MAX_PENDING_REQUESTS = 64;
  private static final Duration SEND_SWEEP_EVERY = Duration.ofSeconds(1);

  /** A send on its way to its conversation, by tag. */
  private record PendingSend(String conversationId, String idempotencyKey, long startedNanos) {}

  private final ActorContext<Connection.Command> context;
  private final TimerScheduler<Connection.Command> timers;
  private final Connection.Deps deps;
  private final ClientSocket socket;
  private final ActorRef<DeviceOutbound> sessionInbox;
  private final ActorRef<Conversation.Posted> postAnswers;
  private final Map<Long, PendingSend> sends = new HashMap<>();
  /** Reads held back while too many requests are unanswered. */
  private final ArrayDeque<ActorRef<Connection.StreamAck>> heldAcks = new ArrayDeque<>();
  private long lastSendTag;
  private int pending;

  Requests(ActorContext<Connection.Command> context, TimerScheduler<Connection.Command> timers,
           Connection.Deps deps, ClientSocket socket, ActorRef<DeviceOutbound> sessionInbox) {
    this.context = context;
    this.timers = timers;
    this.deps = deps;
    this.socket = socket;
    this.sessionInbox = sessionInbox;
    this.postAnswers = context.messageAdapter(Conversation.Posted.class, Connection.PostAnswered::new);
  }

  // ---- reading ----

  /** Asks for the next frame, or holds the ask back until fewer requests are unanswered. */
  void readNext(ActorRef<Connection.StreamAck> ackTo) {
    if (pending >= MAX_PENDING_REQUESTS) {
      heldAcks.add(ackTo);
    } else {
      ackTo.tell(Connection.StreamAck.INSTANCE);
    }
  }

  /** Lets every held-back read go on (the connection closes and reads no more requests). */
  void releaseReads() {
    while (!heldAcks.isEmpty()) {
      heldAcks.poll().tell(Connection.StreamAck.INSTANCE);
    }
  }

  /** Whether every request read so far has been answered. */
  boolean idle() {
    return pending == 0;
  }

  // ---- requests ----

  /**
   * Handles one request of {@code device}; {@code session} (null until the session has attached the
   * connection) takes the delivery acks directly.
   */
  void handle(ClientFrame frame, DeviceAddress device, ActorRef<DeviceSession.Command> session) {
    if (frame instanceof ClientFrame.Send send) {
      onSend(send, device);
    } else if (frame instanceof ClientFrame.DeliveryAck ack) {
      if (session != null) {
        session.tell(new DeviceSession.Acked(sessionInbox, ack.conversationId(), ack.seq()));
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
      onFetch(fetch, device);
    } else if (frame instanceof ClientFrame.Ephemeral ephemeral) {
      onEphemeral(ephemeral, device);
    } else if (frame instanceof ClientFrame.Typing typing) {
      conversation(typing.conversationId()).tell(new Conversation.Typing(device, typing.active()));
    } else if (frame instanceof ClientFrame.ListConversations list) {
      onListConversations(list, device);
    } else if (frame instanceof ClientFrame.Read read) {
      onRead(read, device);
    } else if (frame instanceof ClientFrame.Receipts receipts) {
      onReceipts(receipts, device);
    } else if (frame instanceof ClientFrame.PresenceQuery query) {
      onPresenceQuery(query, device);
    }
  }

  private void onSend(ClientFrame.Send send, DeviceAddress me) {
    List<SealedEnvelope> envelopes;
    try {
      envelopes = seal(send.envelopes());
    } catch (InvalidFrameException e) {
      socket.send(error(e.code(), e.getMessage()).withRequest(null, send.conversationId(), send.idempotencyKey()));
      return;
    }
    // the limit is checked before the conversation sees the send: a refused send stores nothing and leaves
    // its idempotency key unused, so the retry after retryAfterMs is stored as new
    long tag = ++lastSendTag;
    sends.put(tag, new PendingSend(send.conversationId(), send.idempotencyKey(), System.nanoTime()));
    pending++;
    if (!timers.isTimerActive(Connection.SweepSends.INSTANCE)) {
      timers.startTimerWithFixedDelay(Connection.SweepSends.INSTANCE, SEND_SWEEP_EVERY);
    }
    EntityRef<Conversation.Command> conversation = conversation(send.conversationId());
    ActorRef<Connection.Command> self = context.getSelf();
    deps.limits().trySend(me.user()).whenComplete((decision, failure) -> {
      if (decision == null || decision.allowed()) {
        conversation.tell(new Conversation.Post(me, send.idempotencyKey(), envelopes, tag, postAnswers));
      } else {
        self.tell(new Connection.SendLimited(tag, decision.retryAfterMs()));
      }
    });
  }

  /**
   * Checked like a send (envelope shape and size, the limit, then the conversation: participants, addressing)
   * and handed on to the recipients' live devices; nothing is stored. Answered {@code ok} (seq 0) when the
   * frame carries a {@code requestId}, and with an error whenever it is refused.
   */
  private void onEphemeral(ClientFrame.Ephemeral ephemeral, DeviceAddress me) {
    String requestId = ephemeral.requestId();
    String conversationId = ephemeral.conversationId();
    List<SealedEnvelope> envelopes;
    try {
      envelopes = seal(ephemeral.envelopes());
    } catch (InvalidFrameException e) {
      socket.send(error(e.code(), e.getMessage()).withRequest(requestId, conversationId, null));
      return;
    }
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
  private void onPresenceQuery(ClientFrame.PresenceQuery query, DeviceAddress me) {
    CompletionStage<List<ServerFrame>> answer = AskPattern.<Presence.Command, Presence.Answer>ask(deps.presence(),
            replyTo -> new Presence.Query(me.user(), query.users(), replyTo), deps.session().askTimeout(),
            context.getSystem().scheduler())
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

  private void onFetch(ClientFrame.Fetch fetch, DeviceAddress me) {
    long span = fetch.toSeq() - fetch.fromSeq() + 1;
    if (span > deps.protocol().maxFetchRange()) {
      socket.send(error(ErrorCode.RANGE_TOO_LARGE, "fetch at most " + deps.protocol().maxFetchRange()
          + " seqs at once").withRequest(fetch.requestId(), fetch.conversationId(), null));
      return;
    }
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
  private void onRead(ClientFrame.Read read, DeviceAddress me) {
    CompletionStage<List<ServerFrame>> answer = conversation(read.conversationId())
        .<Conversation.Reply>ask(replyTo -> new Conversation.MarkRead(me, read.seq(), replyTo),
            deps.session().askTimeout())
        .thenApply(reply -> reply instanceof Conversation.Rejected rejected
            ? List.of(rejectedFrame(rejected, null, read.conversationId(), null))
            : List.of());
    answerWith(answer, null, read.conversationId(), null);
  }

  /** Every participant's latest markers, each read from that participant's inbox. */
  private void onReceipts(ClientFrame.Receipts request, DeviceAddress me) {
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

  private void onListConversations(ClientFrame.ListConversations list, DeviceAddress me) {
    CompletionStage<List<ServerFrame>> answer = deps.sharding().entityRefFor(Inbox.ENTITY_KEY, me.user())
        .<Inbox.Conversations>ask(Inbox.ListConversations::new, deps.session().askTimeout())
        .thenApply(conversations -> List.of(new ServerFrame.Conversations(list.requestId(),
            conversations.joinedAt().entrySet().stream()
                .map(e -> new ServerFrame.Summary(e.getKey(), e.getValue()))
                .sorted(Comparator.comparing(ServerFrame.Summary::conversationId))
                .toList())));
    answerWith(answer, list.requestId(), null, null);
  }

  private void askConversation(String conversationId,
      Function<ActorRef<Conversation.Reply>, Conversation.Command> command,
      Function<Conversation.Accepted, ServerFrame> onAccepted, String requestId, String idempotencyKey) {
    CompletionStage<List<ServerFrame>> answer = conversation(conversationId)
        .<Conversation.Reply>ask(command::apply, deps.session().askTimeout())
        .thenApply(reply -> List.of(reply instanceof Conversation.Accepted accepted
            ? onAccepted.apply(accepted)
            : refusedFrame(reply, requestId, conversationId, idempotencyKey)));
    answerWith(answer, requestId, conversationId, idempotencyKey);
  }

  private void answerWith(CompletionStage<List<ServerFrame>> answer, String requestId, String conversationId,
                          String idempotencyKey) {
    pending++;
    context.pipeToSelf(answer, (frames, failure) -> new Connection.Answered(frames != null ? frames : List.of(
        error(ErrorCode.UNAVAILABLE, "the request timed out, retry it")
            .withRequest(requestId, conversationId, idempotencyKey))));
  }

  // ---- answers ----

  /** A request is finished: its frames go out, and a held-back read may go on. */
  void answered(List<ServerFrame> frames) {
    pending--;
    frames.forEach(socket::send);
    while (pending < MAX_PENDING_REQUESTS && !heldAcks.isEmpty()) {
      heldAcks.poll().tell(Connection.StreamAck.INSTANCE);
    }
  }

  /** A conversation's answer to one of this connection's sends. */
  void postAnswered(Conversation.Posted posted) {
    PendingSend send = sends.remove(posted.tag());
    if (send == null) {
      return; // answered unavailable already, after the ask timeout
    }
    ServerFrame frame;
    if (posted.reply() instanceof Conversation.Accepted accepted) {
      Metrics.acknowledged(accepted.duplicate(), Duration.ofNanos(System.nanoTime() - send.startedNanos()));
      frame = new ServerFrame.Ack(send.conversationId(), send.idempotencyKey(), accepted.seq(), accepted.duplicate());
    } else {
      frame = refusedFrame(posted.reply(), null, send.conversationId(), send.idempotencyKey());
    }
    answered(List.of(frame));
  }

  /** The send limit refused the send with {@code tag}. */
  void sendLimited(long tag, long retryAfterMs) {
    PendingSend send = sends.remove(tag);
    if (send == null) {
      return;
    }
    answered(List.of(error(ErrorCode.RATE_LIMITED,
            "too many messages; retry after retryAfterMs with the same idempotency key")
        .withRequest(null, send.conversationId(), send.idempotencyKey())
        .withRetryAfter(retryAfterMs)));
  }

  /** Sends whose conversation has not answered within the ask timeout are answered unavailable (retry). */
  void sweepSends() {
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
      timers.cancel(Connection.SweepSends.INSTANCE);
    }
    for (ServerFrame frame : timedOut) {
      answered(List.of(frame));
    }
  }

  // ---- helpers ----

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
}
