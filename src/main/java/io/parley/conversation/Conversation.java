package io.parley.conversation;

import com.fasterxml.jackson.annotation.JsonSubTypes;
import com.fasterxml.jackson.annotation.JsonTypeInfo;
import io.parley.config.ParleySettings.ConversationSettings;
import io.parley.directory.DeviceDirectory;
import io.parley.identity.DeviceAddress;
import io.parley.observability.Metrics;
import io.parley.observability.ThrottledWarning;
import io.parley.protocol.ErrorCode;
import io.parley.protocol.ReceiptKind;
import io.parley.serialization.CborSerializable;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.cluster.sharding.typed.javadsl.ClusterSharding;
import org.apache.pekko.cluster.sharding.typed.javadsl.Entity;
import org.apache.pekko.cluster.sharding.typed.javadsl.EntityTypeKey;
import org.apache.pekko.persistence.typed.PersistenceId;
import org.apache.pekko.persistence.typed.RecoveryCompleted;
import org.apache.pekko.persistence.typed.SnapshotAdapter;
import org.apache.pekko.persistence.typed.javadsl.CommandHandler;
import org.apache.pekko.persistence.typed.javadsl.CommandHandlerBuilder;
import org.apache.pekko.persistence.typed.javadsl.Effect;
import org.apache.pekko.persistence.typed.javadsl.EventHandler;
import org.apache.pekko.persistence.typed.javadsl.EventSourcedBehavior;
import org.apache.pekko.persistence.typed.javadsl.ReplyEffect;
import org.apache.pekko.persistence.typed.javadsl.RetentionCriteria;
import org.apache.pekko.persistence.typed.javadsl.SignalHandler;

/**
 * One conversation: the single writer that gives every message and membership change the next
 * gap-free sequence number. The seq of an event is its journal sequence number, so history reads by
 * seq are journal reads. A repeated idempotency key from the same user returns the original seq and
 * persists nothing. A message must carry one envelope for every device of its participants except the
 * sending device: this is checked against the node's cached device lists, and only a cache miss or a
 * disagreement reads the directory (once) before answering.
 */
public final class Conversation
    extends EventSourcedBehavior<Conversation.Command, Conversation.Event, Conversation.State> {

  public static final EntityTypeKey<Command> ENTITY_KEY = EntityTypeKey.create(Command.class, "Conversation");

  // ---- commands ----
  public sealed interface Command extends CborSerializable {}

  public record Create(String by, List<String> participants, ActorRef<Reply> replyTo) implements Command {}

  public record AddMember(String by, String user, ActorRef<Reply> replyTo) implements Command {}

  public record RemoveMember(String by, String user, ActorRef<Reply> replyTo) implements Command {}

  /**
   * A message from {@code sender}'s device. The answer is a {@link Posted} carrying {@code tag}, so that a
   * connection can take the answers of all its sends through one message adapter.
   */
  public record Post(DeviceAddress sender, String idempotencyKey, List<SealedEnvelope> envelopes, long tag,
                     ActorRef<Posted> replyTo) implements Command {}

  public record GetInfo(String asUser, ActorRef<Reply> replyTo) implements Command {}

  public record Typing(DeviceAddress from, boolean active) implements Command {}

  /**
   * Ciphertexts for the recipients' online devices, neither persisted nor sequenced: answered
   * {@link Accepted} with seq 0 once handed to the fan-out, or {@link Rejected}.
   */
  public record Ephemeral(DeviceAddress sender, List<SealedEnvelope> envelopes, ActorRef<Reply> replyTo)
      implements Command {}

  /** A device of {@code reader} has received everything up to {@code seq}: a delivered receipt, no reply. */
  public record MarkDelivered(DeviceAddress reader, long seq) implements Command {}

  /** {@code reader}'s user has seen everything up to {@code seq}: a read receipt. */
  public record MarkRead(DeviceAddress reader, long seq, ActorRef<Reply> replyTo) implements Command {}

  /** The directory's answer for the accounts a post had to look up; only sent to itself. */
  private record DevicesLooked(Post post, Map<String, Set<Integer>> current, Throwable failure)
      implements Command {}

  // ---- replies ----
  public sealed interface Reply extends CborSerializable {}

  public record Accepted(long seq, boolean duplicate) implements Reply {}

  /** The answer to a {@link Post}: {@code reply} for the post that carried {@code tag}. */
  public record Posted(
      long tag,
      @JsonTypeInfo(use = JsonTypeInfo.Id.NAME, property = "kind")
      @JsonSubTypes({
        @JsonSubTypes.Type(value = Accepted.class, name = "accepted"),
        @JsonSubTypes.Type(value = Rejected.class, name = "rejected"),
        @JsonSubTypes.Type(value = DeviceMismatch.class, name = "mismatch")
      })
      Reply reply) implements CborSerializable {}

  public record Rejected(ErrorCode code, String message) implements Reply {}

  public record Info(List<String> participants, long lastSeq) implements Reply {}

  /** The envelopes do not match the participants' devices; nothing was stored. */
  public record DeviceMismatch(List<DeviceAddress> missing, List<DeviceAddress> stale) implements Reply {}

  // ---- events ----
  @JsonTypeInfo(use = JsonTypeInfo.Id.NAME, property = "kind")
  @JsonSubTypes({
    @JsonSubTypes.Type(value = Created.class, name = "created"),
    @JsonSubTypes.Type(value = MemberAdded.class, name = "added"),
    @JsonSubTypes.Type(value = MemberRemoved.class, name = "removed"),
    @JsonSubTypes.Type(value = MessagePosted.class, name = "message")
  })
  public sealed interface Event extends CborSerializable {
    long at();
  }

  public record Created(String by, List<String> participants, long at) implements Event {}

  public record MemberAdded(String by, String user, long at) implements Event {}

  public record MemberRemoved(String by, String user, long at) implements Event {}

  public record MessagePosted(DeviceAddress sender, String idempotencyKey, List<SealedEnvelope> envelopes, long at)
      implements Event {}

  // ---- state ----
  public sealed interface State {}

  public record Empty() implements State {}

  /** {@code joinedAt}: for each participant, the seq from which they see the conversation. */
  public record Active(String createdBy, List<String> participants, Map<String, Long> joinedAt, long lastSeq,
                       DedupWindow dedup) implements State {
    boolean isParticipant(String user) {
      return participants.contains(user);
    }
  }

  /** What a snapshot stores: the state in plain lists. */
  public record Snapshot(String createdBy, List<String> participants, Map<String, Long> joinedAt, long lastSeq,
                         List<DedupWindow.Entry> dedup) implements CborSerializable {}

  private final String conversationId;
  private final ConversationSettings settings;
  private final Clock clock;
  private final ConversationFanout fanout;
  private final DeviceDirectory directory;
  private final ThrottledWarning lookupFailures;
  private final ActorContext<Command> context;
  /**
   * Runtime only, never part of the state: a post is waiting for the directory. Commands that could persist
   * are stashed meanwhile, so messages keep the order in which they arrived.
   */
  private boolean lookingUp;
  /**
   * Runtime only: the highest receipt announced per reader and kind since this entity started, so that
   * receipts only ever advance (the reader's inbox keeps the durable markers).
   */
  private final Map<ReceiptMark, Long> announced = new HashMap<>();

  private record ReceiptMark(String reader, ReceiptKind kind) {}

  private static final Duration LOOKUP_WARNING_EVERY = Duration.ofSeconds(10);

  public static void init(ActorSystem<?> system, ConversationSettings settings, Clock clock, ConversationFanout fanout,
                          DeviceDirectory directory) {
    // one for the node's conversations: a directory that cannot answer fails many sends at once
    ThrottledWarning lookupFailures = new ThrottledWarning(clock, LOOKUP_WARNING_EVERY);
    ClusterSharding.get(system).init(Entity.of(ENTITY_KEY, ctx ->
        create(ctx.getEntityId(), settings, clock, fanout, directory, lookupFailures)));
  }

  public static Behavior<Command> create(String conversationId, ConversationSettings settings, Clock clock,
                                         ConversationFanout fanout, DeviceDirectory directory) {
    return create(conversationId, settings, clock, fanout, directory,
        new ThrottledWarning(clock, LOOKUP_WARNING_EVERY));
  }

  private static Behavior<Command> create(String conversationId, ConversationSettings settings, Clock clock,
      ConversationFanout fanout, DeviceDirectory directory, ThrottledWarning lookupFailures) {
    return Behaviors.setup(ctx -> new Conversation(ctx, conversationId, settings, clock, fanout, directory,
        lookupFailures));
  }

  public static PersistenceId persistenceId(String conversationId) {
    return PersistenceId.of(ENTITY_KEY.name(), conversationId);
  }

  private Conversation(ActorContext<Command> context, String conversationId, ConversationSettings settings,
                       Clock clock, ConversationFanout fanout, DeviceDirectory directory,
                       ThrottledWarning lookupFailures) {
    super(persistenceId(conversationId));
    this.lookupFailures = lookupFailures;
    this.context = context;
    this.conversationId = conversationId;
    this.settings = settings;
    this.clock = clock;
    this.fanout = fanout;
    this.directory = directory;
  }

  @Override
  public State emptyState() {
    return new Empty();
  }

  @Override
  public RetentionCriteria retentionCriteria() {
    return RetentionCriteria.snapshotEvery(settings.snapshotEvery(), 2);
  }

  @Override
  public SignalHandler<State> signalHandler() {
    return newSignalHandlerBuilder()
        .onSignal(RecoveryCompleted.instance(), state -> {
          if (state instanceof Active active) {
            fanout.membersPresent(conversationId, active.joinedAt());
          }
        })
        .build();
  }

  @Override
  public CommandHandler<Command, Event, State> commandHandler() {
    CommandHandlerBuilder<Command, Event, State> builder = newCommandHandlerBuilder();
    builder.forStateType(Empty.class)
        .onCommand(Create.class, this::onCreate)
        .onCommand(AddMember.class, (s, c) -> unknown(c.replyTo()))
        .onCommand(RemoveMember.class, (s, c) -> unknown(c.replyTo()))
        .onCommand(Post.class, (s, c) -> Effect().reply(c.replyTo(), new Posted(c.tag(), UNKNOWN)))
        .onCommand(GetInfo.class, (s, c) -> unknown(c.replyTo()))
        .onCommand(MarkRead.class, (s, c) -> unknown(c.replyTo()))
        .onCommand(MarkDelivered.class, (s, c) -> Effect().none())
        .onCommand(Typing.class, (s, c) -> Effect().none())
        .onCommand(Ephemeral.class, (s, c) -> unknown(c.replyTo()));
    builder.forStateType(Active.class)
        .onCommand(DevicesLooked.class, this::onDevicesLooked)
        .onCommand(cmd -> lookingUp && !(cmd instanceof GetInfo || cmd instanceof Typing || cmd instanceof Ephemeral),
            cmd -> Effect().stash())
        .onCommand(Create.class, this::onCreateAgain)
        .onCommand(AddMember.class, this::onAddMember)
        .onCommand(RemoveMember.class, this::onRemoveMember)
        .onCommand(Post.class, this::onPost)
        .onCommand(GetInfo.class, this::onGetInfo)
        .onCommand(Typing.class, this::onTyping)
        .onCommand(Ephemeral.class, this::onEphemeral)
        .onCommand(MarkDelivered.class, this::onMarkDelivered)
        .onCommand(MarkRead.class, this::onMarkRead);
    return builder.build();
  }

  private static final Rejected UNKNOWN = new Rejected(ErrorCode.UNKNOWN_CONVERSATION, "no such conversation");

  private Effect<Event, State> unknown(ActorRef<Reply> replyTo) {
    return Effect().reply(replyTo, UNKNOWN);
  }

  private Effect<Event, State> onCreate(Empty state, Create cmd) {
    Set<String> members = new LinkedHashSet<>();
    members.add(cmd.by());
    members.addAll(cmd.participants());
    if (members.size() < 2) {
      return reject(cmd.replyTo(), ErrorCode.INVALID_REQUEST, "a conversation needs at least one other participant");
    }
    if (members.size() > settings.maxParticipants()) {
      return reject(cmd.replyTo(), ErrorCode.TOO_MANY_PARTICIPANTS,
          "at most " + settings.maxParticipants() + " participants");
    }
    Created created = new Created(cmd.by(), List.copyOf(members), now());
    return Effect().persist(created)
        .thenRun(next -> publish(next, created, created.participants()))
        .thenReply(cmd.replyTo(), next -> new Accepted(1, false));
  }

  /** A retried create by the same creator with the same participants is answered as a duplicate. */
  private Effect<Event, State> onCreateAgain(Active state, Create cmd) {
    Set<String> requested = new HashSet<>(cmd.participants());
    requested.add(cmd.by());
    if (state.createdBy().equals(cmd.by()) && requested.equals(new HashSet<>(state.participants()))) {
      return Effect().reply(cmd.replyTo(), new Accepted(1, true));
    }
    return reject(cmd.replyTo(), ErrorCode.CONVERSATION_EXISTS, "conversation id already in use");
  }

  private Effect<Event, State> onAddMember(Active state, AddMember cmd) {
    if (!state.isParticipant(cmd.by())) {
      return notParticipant(cmd.replyTo());
    }
    if (state.isParticipant(cmd.user())) {
      return Effect().reply(cmd.replyTo(), new Accepted(state.lastSeq(), true));
    }
    if (state.participants().size() >= settings.maxParticipants()) {
      return reject(cmd.replyTo(), ErrorCode.TOO_MANY_PARTICIPANTS,
          "at most " + settings.maxParticipants() + " participants");
    }
    MemberAdded added = new MemberAdded(cmd.by(), cmd.user(), now());
    return Effect().persist(added)
        .thenRun(next -> publish(next, added, ((Active) next).participants()))
        .thenReply(cmd.replyTo(), next -> new Accepted(((Active) next).lastSeq(), false));
  }

  /** Members may leave; only the creator removes others. */
  private Effect<Event, State> onRemoveMember(Active state, RemoveMember cmd) {
    if (!state.isParticipant(cmd.by())) {
      return notParticipant(cmd.replyTo());
    }
    if (!cmd.by().equals(cmd.user()) && !cmd.by().equals(state.createdBy())) {
      return reject(cmd.replyTo(), ErrorCode.NOT_PARTICIPANT, "only the creator removes other members");
    }
    if (!state.isParticipant(cmd.user())) {
      return Effect().reply(cmd.replyTo(), new Accepted(state.lastSeq(), true));
    }
    MemberRemoved removed = new MemberRemoved(cmd.by(), cmd.user(), now());
    List<String> audience = state.participants(); // the member who leaves hears of it too
    return Effect().persist(removed)
        .thenRun(next -> publish(next, removed, audience))
        .thenReply(cmd.replyTo(), next -> new Accepted(((Active) next).lastSeq(), false));
  }

  private Effect<Event, State> onPost(Active state, Post cmd) {
    Optional<Reply> refused = refusal(state, cmd);
    if (refused.isPresent()) {
      return Effect().reply(cmd.replyTo(), new Posted(cmd.tag(), refused.get()));
    }
    Map<String, Set<Integer>> cached = new HashMap<>();
    Map<String, CompletableFuture<Set<Integer>>> lookUps = new HashMap<>();
    for (String participant : state.participants()) {
      CompletableFuture<Set<Integer>> list = cachedDevices(participant);
      if (list.isDone() && !list.isCompletedExceptionally()) {
        cached.put(participant, list.join());
      } else {
        lookUps.put(participant, list); // not cached on this node: the read-through is a directory read
      }
    }
    DeviceCheck.Mismatch mismatch = DeviceCheck.compare(cmd.sender(), cmd.envelopes(), cached);
    // a cached list may be behind the directory: a disagreement is only believed after a fresh read
    mismatch.accounts().forEach(account -> lookUps.put(account, currentDevices(account)));
    if (lookUps.isEmpty()) {
      return persistPost(state, cmd).thenReply(cmd.replyTo(), next -> accepted(cmd, next));
    }
    lookingUp = true;
    context.pipeToSelf(allOf(lookUps), (current, failure) -> new DevicesLooked(cmd, current, failure));
    return Effect().none();
  }

  /** What the post is answered without looking at devices: not a member, a repeated key, bad addressing. */
  private Optional<Reply> refusal(Active state, Post cmd) {
    String user = cmd.sender().user();
    if (!state.isParticipant(user)) {
      return Optional.of(new Rejected(ErrorCode.NOT_PARTICIPANT, "not a participant of this conversation"));
    }
    var known = state.dedup().find(dedupKey(user, cmd.idempotencyKey()), now(), settings.dedupWindow());
    if (known.isPresent()) {
      return Optional.of(new Accepted(known.get().seq(), true));
    }
    return misaddressed(state, cmd.sender(), cmd.envelopes());
  }

  /** Envelopes for non-participants, for the sending device, or two for one device. */
  private static Optional<Reply> misaddressed(Active state, DeviceAddress sender, List<SealedEnvelope> envelopes) {
    Set<DeviceAddress> recipients = new HashSet<>();
    for (SealedEnvelope envelope : envelopes) {
      if (!state.isParticipant(envelope.user())) {
        return Optional.of(new Rejected(ErrorCode.UNKNOWN_RECIPIENT, "an envelope is addressed to a non-participant"));
      }
      if (envelope.recipient().equals(sender) || !recipients.add(envelope.recipient())) {
        return Optional.of(new Rejected(ErrorCode.INVALID_ENVELOPE,
            "envelopes must address distinct devices other than the sender"));
      }
    }
    return Optional.empty();
  }

  /**
   * No device-list check: nothing is stored, so an envelope missing for a device only means that device
   * misses a transient frame, and reading device lists would put the directory on a streaming path. The
   * persisted message that follows is checked as every message is.
   */
  private Effect<Event, State> onEphemeral(Active state, Ephemeral cmd) {
    if (!state.isParticipant(cmd.sender().user())) {
      return notParticipant(cmd.replyTo());
    }
    Optional<Reply> refused = misaddressed(state, cmd.sender(), cmd.envelopes());
    if (refused.isPresent()) {
      return Effect().reply(cmd.replyTo(), refused.get());
    }
    fanout.ephemeral(conversationId, cmd.sender(), cmd.envelopes());
    return Effect().reply(cmd.replyTo(), new Accepted(0, false));
  }

  private CompletableFuture<Map<String, Set<Integer>>> allOf(Map<String, CompletableFuture<Set<Integer>>> lookups) {
    return CompletableFuture.allOf(lookups.values().toArray(CompletableFuture[]::new))
        .orTimeout(settings.deviceLookupTimeout().toMillis(), TimeUnit.MILLISECONDS)
        .thenApply(done -> {
          Map<String, Set<Integer>> current = new HashMap<>();
          lookups.forEach((account, lookup) -> current.put(account, Set.copyOf(lookup.join())));
          return current;
        });
  }

  /** Decides a post whose device lists had to be read; then lets the commands that waited meanwhile in. */
  private Effect<Event, State> onDevicesLooked(Active state, DevicesLooked looked) {
    lookingUp = false;
    Post cmd = looked.post();
    if (looked.failure() != null) {
      if (lookupFailures.due()) {
        // no stack trace: under load every send of the node can fail this way at once
        // the cause's kind only: an ask's timeout names its target entity, an account id
        Throwable cause = looked.failure() instanceof CompletionException wrapped && wrapped.getCause() != null
            ? wrapped.getCause() : looked.failure();
        context.getLog().warn("device lists could not be read for a send; the client retries (at most one such"
            + " warning every {} s on this node): {}", LOOKUP_WARNING_EVERY.toSeconds(),
            cause.getClass().getSimpleName());
      }
      return answerAndUnstash(cmd, new Rejected(ErrorCode.UNAVAILABLE, "device lists unavailable, retry"));
    }
    Optional<Reply> refused = refusal(state, cmd);
    if (refused.isPresent()) {
      return answerAndUnstash(cmd, refused.get());
    }
    Map<String, Set<Integer>> lists = new HashMap<>();
    for (String participant : state.participants()) {
      Optional<Set<Integer>> list = Optional.ofNullable(looked.current().get(participant))
          .or(() -> cachedNow(participant));
      if (list.isEmpty()) {
        return answerAndUnstash(cmd, new Rejected(ErrorCode.UNAVAILABLE, "device lists changed meanwhile, retry"));
      }
      lists.put(participant, list.get());
    }
    DeviceCheck.Mismatch mismatch = DeviceCheck.compare(cmd.sender(), cmd.envelopes(), lists);
    if (!mismatch.isEmpty()) {
      return answerAndUnstash(cmd, new DeviceMismatch(mismatch.missing(), mismatch.stale()));
    }
    return persistPost(state, cmd)
        .thenRun(next -> cmd.replyTo().tell(accepted(cmd, next)))
        .thenUnstashAll();
  }

  private Optional<Set<Integer>> cachedNow(String account) {
    CompletableFuture<Set<Integer>> list = cachedDevices(account);
    return list.isDone() && !list.isCompletedExceptionally() ? Optional.of(list.join()) : Optional.empty();
  }

  /** The account's devices from this node's cache: completed at once when cached, read through otherwise. */
  private CompletableFuture<Set<Integer>> cachedDevices(String account) {
    return directory.cachedDevices(account).<Set<Integer>>thenApply(DeviceDirectory.DeviceList::devices)
        .toCompletableFuture();
  }

  /** The account's current devices from the directory, which refreshes the cache. */
  private CompletableFuture<Set<Integer>> currentDevices(String account) {
    return directory.devices(account).<Set<Integer>>thenApply(DeviceDirectory.DeviceList::devices)
        .toCompletableFuture();
  }

  private Effect<Event, State> answerAndUnstash(Post cmd, Reply reply) {
    cmd.replyTo().tell(new Posted(cmd.tag(), reply));
    return Effect().unstashAll();
  }

  private static Posted accepted(Post cmd, State next) {
    return new Posted(cmd.tag(), new Accepted(((Active) next).lastSeq(), false));
  }

  private org.apache.pekko.persistence.typed.javadsl.EffectBuilder<Event, State> persistPost(Active state, Post cmd) {
    MessagePosted posted = new MessagePosted(cmd.sender(), cmd.idempotencyKey(), cmd.envelopes(), now());
    long started = System.nanoTime();
    return Effect().persist(posted).thenRun(next -> {
      Metrics.persisted(java.time.Duration.ofNanos(System.nanoTime() - started));
      Active active = (Active) next;
      fanout.message(conversationId, active.lastSeq(), posted, active.joinedAt());
    });
  }

  /** Receipts are not conversation events (a seq is a journal position): the reader's inbox keeps them. */
  private Effect<Event, State> onMarkDelivered(Active state, MarkDelivered cmd) {
    if (state.isParticipant(cmd.reader().user())) {
      receipt(state, cmd.reader(), ReceiptKind.DELIVERED, Math.min(cmd.seq(), state.lastSeq()));
    }
    return Effect().none();
  }

  private Effect<Event, State> onMarkRead(Active state, MarkRead cmd) {
    if (!state.isParticipant(cmd.reader().user())) {
      return notParticipant(cmd.replyTo());
    }
    if (cmd.seq() > state.lastSeq()) {
      return reject(cmd.replyTo(), ErrorCode.INVALID_REQUEST, "seq is beyond the conversation's last seq");
    }
    receipt(state, cmd.reader(), ReceiptKind.READ, cmd.seq());
    return Effect().reply(cmd.replyTo(), new Accepted(cmd.seq(), false));
  }

  private void receipt(Active state, DeviceAddress reader, ReceiptKind kind, long seq) {
    List<String> others = without(state.participants(), reader.user());
    fanout.receipt(conversationId, reader.user(), kind, seq, others);
  }

  private Effect<Event, State> onGetInfo(Active state, GetInfo cmd) {
    if (!state.isParticipant(cmd.asUser())) {
      return notParticipant(cmd.replyTo());
    }
    return Effect().reply(cmd.replyTo(), new Info(state.participants(), state.lastSeq()));
  }

  private Effect<Event, State> onTyping(Active state, Typing cmd) {
    if (state.isParticipant(cmd.from().user())) {
      fanout.typing(conversationId, cmd.from(), cmd.active(), state.participants());
    }
    return Effect().none();
  }

  private void publish(State next, Event event, List<String> audience) {
    fanout.membership(new ConversationEvent(conversationId, ((Active) next).lastSeq(), event), audience);
  }

  private Effect<Event, State> notParticipant(ActorRef<Reply> replyTo) {
    return reject(replyTo, ErrorCode.NOT_PARTICIPANT, "not a participant of this conversation");
  }

  private Effect<Event, State> reject(ActorRef<Reply> replyTo, ErrorCode code, String message) {
    return Effect().reply(replyTo, new Rejected(code, message));
  }

  private long now() {
    return clock.millis();
  }

  private static String dedupKey(String user, String idempotencyKey) {
    return user + ' ' + idempotencyKey;
  }

  @Override
  public EventHandler<State, Event> eventHandler() {
    var builder = newEventHandlerBuilder();
    builder.forStateType(Empty.class)
        .onEvent(Created.class, (state, e) -> new Active(e.by(), e.participants(),
            e.participants().stream().collect(java.util.stream.Collectors.toUnmodifiableMap(u -> u, u -> 1L)), 1,
            DedupWindow.empty()));
    builder.forStateType(Active.class)
        .onEvent(MemberAdded.class, (state, e) -> new Active(state.createdBy(),
            with(state.participants(), e.user()), joined(state.joinedAt(), e.user(), state.lastSeq() + 1),
            state.lastSeq() + 1, state.dedup()))
        .onEvent(MemberRemoved.class, (state, e) -> new Active(state.createdBy(),
            without(state.participants(), e.user()), left(state.joinedAt(), e.user()), state.lastSeq() + 1,
            state.dedup()))
        .onEvent(MessagePosted.class, (state, e) -> {
          long seq = state.lastSeq() + 1;
          DedupWindow dedup = state.dedup().remember(dedupKey(e.sender().user(), e.idempotencyKey()), seq, e.at(),
              settings.dedupWindow(), settings.dedupMaxKeys());
          return new Active(state.createdBy(), state.participants(), state.joinedAt(), seq, dedup);
        });
    return builder.build();
  }

  @Override
  public SnapshotAdapter<State> snapshotAdapter() {
    return new SnapshotAdapter<>() {
      @Override
      public Object toJournal(State state) {
        if (state instanceof Active a) {
          return new Snapshot(a.createdBy(), a.participants(), a.joinedAt(), a.lastSeq(),
              a.dedup().entriesOldestFirst());
        }
        throw new IllegalStateException("an empty conversation is never snapshotted");
      }

      @Override
      public State fromJournal(Object from) {
        Snapshot s = (Snapshot) from;
        return new Active(s.createdBy(), List.copyOf(s.participants()), Map.copyOf(s.joinedAt()), s.lastSeq(),
            DedupWindow.of(s.dedup()));
      }
    };
  }

  private static List<String> with(List<String> list, String item) {
    List<String> copy = new ArrayList<>(list);
    copy.add(item);
    return List.copyOf(copy);
  }

  private static Map<String, Long> joined(Map<String, Long> joinedAt, String user, long seq) {
    Map<String, Long> copy = new java.util.HashMap<>(joinedAt);
    copy.put(user, seq);
    return Map.copyOf(copy);
  }

  private static Map<String, Long> left(Map<String, Long> joinedAt, String user) {
    Map<String, Long> copy = new java.util.HashMap<>(joinedAt);
    copy.remove(user);
    return Map.copyOf(copy);
  }

  private static List<String> without(List<String> list, String item) {
    return list.stream().filter(x -> !x.equals(item)).toList();
  }
}
