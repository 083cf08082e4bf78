package io.parley.presence;

import io.parley.config.ParleySettings.PresenceSettings;
import io.parley.conversation.Conversation;
import io.parley.inbox.Inbox;
import io.parley.presence.PresenceStore.Status;
import io.parley.protocol.ServerFrame;
import io.parley.serialization.CborSerializable;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.javadsl.AbstractBehavior;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.Receive;
import org.apache.pekko.actor.typed.javadsl.TimerScheduler;
import org.apache.pekko.actor.typed.pubsub.Topic;
import org.apache.pekko.cluster.sharding.typed.javadsl.ClusterSharding;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * This node's presence keeper (one per node, ADR 0011). It heartbeats every user with a device connected
 * here into Redis ({@link PresenceStore}), announces a user coming online or going offline on a cluster
 * topic, and pushes {@code presence} frames to the connected devices of that user's contacts: the other
 * participants of the user's conversations, resolved once per user while the user is connected here (the
 * inbox's conversations, then each conversation's participants) and kept current from member frames.
 *
 * <p>A lost node announces nothing: its users' entries expire in Redis. So every sweep interval this node
 * reads the contacts it last showed as online and pushes those that have gone offline. All Redis and
 * cluster calls are asynchronous; results come back as messages.
 */
public final class Presence extends AbstractBehavior<Presence.Command> {
  private static final Logger log = LoggerFactory.getLogger(Presence.class);
  public static final String TOPIC = "parley-presence";
  /** Bounds one Redis batch (and the memory it holds) when a node holds very many users. */
  private static final int MAX_WRITES_PER_BATCH = 5_000;

  public sealed interface Command {}

  /** A device of {@code user} is connected here: its frames go to {@code frames} until {@code owner} stops. */
  public record Connected(String user, ActorRef<ServerFrame> frames, ActorRef<?> owner) implements Command {}

  /** A member frame of {@code conversationId} went to a device of {@code user}: its participants may differ. */
  public record ConversationChanged(String user, String conversationId) implements Command {}

  /** The presence of {@code users}, asked by {@code asker}; only the asker's contacts (and the asker) are answered. */
  public record Query(String asker, List<String> users, ActorRef<Answer> replyTo) implements Command {}

  public sealed interface Answer {}

  public record Statuses(List<Status> statuses) implements Answer {}

  /** Some of the users asked for share no conversation with the asker: nothing is answered. */
  public enum NotContacts implements Answer { INSTANCE }

  /** A user came online or went offline; published on the cluster topic by the node that saw it. */
  public record Changed(String user, boolean online, Long lastSeen) implements Command, CborSerializable {}

  private record Gone(ActorRef<?> owner) implements Command {}

  /** A batch of writes went to Redis: {@code written} answers each, or {@code failure} all of them. */
  private record Written(List<PresenceStore.Write> writes, List<PresenceStore.Written> written, Throwable failure)
      implements Command {}

  /** {@code conversations} is null when the user's conversations could not be read. */
  private record Resolved(String user, Map<String, Set<String>> conversations) implements Command {}

  /** {@code participants} is empty when the user is no member (any more), null when unknown. */
  private record ConversationResolved(String user, String conversationId, Set<String> participants)
      implements Command {}

  private record Snapshot(List<ActorRef<ServerFrame>> to, List<Status> statuses) implements Command {}

  private enum HeartbeatTick implements Command { INSTANCE }


  private enum SweepTick implements Command { INSTANCE }

  private record Swept(List<Status> statuses) implements Command {}

  /** One user with a device connected here. */
  private static final class Local {
    final Map<ActorRef<?>, ActorRef<ServerFrame>> connections = new HashMap<>();
    /** conversation id → its other participants; null until resolved. */
    Map<String, Set<String>> conversations;
    boolean resolving;

    Set<String> contacts() {
      Set<String> contacts = new HashSet<>();
      if (conversations != null) {
        conversations.values().forEach(contacts::addAll);
      }
      return contacts;
    }
  }

  public static Behavior<Command> create(PresenceStore store, ClusterSharding sharding, PresenceSettings settings,
                                         Duration askTimeout) {
    return Behaviors.setup(ctx -> Behaviors.withTimers(timers ->
        new Presence(ctx, timers, store, sharding, settings, askTimeout)));
  }

  private final PresenceStore store;
  private final ClusterSharding sharding;
  private final Duration askTimeout;
  private final ActorRef<Topic.Command<Changed>> topic;
  private final Map<String, Local> local = new HashMap<>();
  private final Map<ActorRef<?>, String> owners = new HashMap<>();
  /** contact → the local users who see the contact's presence. */
  private final Map<String, Set<String>> watchers = new HashMap<>();
  /** contact → what this node last showed of the contact's presence. */
  private final Map<String, Status> shown = new HashMap<>();
  /**
   * Arrivals and departures not yet sent to Redis, in order. One batch is in flight at a time and carries
   * everything queued meanwhile, so a leave never overtakes an arrival, and a burst of connects or a mass
   * disconnect takes one pooled Redis connection instead of one each (which exhausted the pool).
   */
  private final ArrayDeque<PresenceStore.Write> queued = new ArrayDeque<>();
  private boolean writing;
  /** The heartbeat is due: every local user is beaten once the queue is empty. */
  private boolean heartbeatDue;

  private Presence(ActorContext<Command> ctx, TimerScheduler<Command> timers, PresenceStore store,
                   ClusterSharding sharding, PresenceSettings settings, Duration askTimeout) {
    super(ctx);
    this.store = store;
    this.sharding = sharding;
    this.askTimeout = askTimeout;
    this.topic = ctx.spawn(Topic.create(Changed.class, TOPIC), "topic");
    topic.tell(Topic.subscribe(ctx.getSelf().<Changed>narrow()));
    timers.startTimerWithFixedDelay(HeartbeatTick.INSTANCE, settings.heartbeatInterval());
    timers.startTimerWithFixedDelay(SweepTick.INSTANCE, settings.sweepInterval());
  }

  @Override
  public Receive<Command> createReceive() {
    return newReceiveBuilder()
        .onMessage(Connected.class, this::onConnected)
        .onMessage(Gone.class, this::onGone)
        .onMessage(ConversationChanged.class, this::onConversationChanged)
        .onMessage(Query.class, this::onQuery)
        .onMessage(Changed.class, this::onChanged)
        .onMessage(Written.class, this::onWritten)
        .onMessage(Resolved.class, this::onResolved)
        .onMessage(ConversationResolved.class, this::onConversationResolved)
        .onMessage(Snapshot.class, this::onSnapshot)
        .onMessageEquals(HeartbeatTick.INSTANCE, this::onHeartbeat)
        .onMessageEquals(SweepTick.INSTANCE, this::onSweep)
        .onMessage(Swept.class, this::onSwept)
        .build();
  }

  // ---- connections ----

  private Behavior<Command> onConnected(Connected connected) {
    if (owners.containsKey(connected.owner())) {
      return this;
    }
    String user = connected.user();
    owners.put(connected.owner(), user);
    getContext().watchWith(connected.owner(), new Gone(connected.owner()));
    Local entry = local.get(user);
    if (entry == null) {
      entry = new Local();
      local.put(user, entry);
      enqueue(new PresenceStore.Beat(user));
    }
    entry.connections.put(connected.owner(), connected.frames());
    if (entry.conversations != null) {
      snapshot(entry.contacts(), List.of(connected.frames()));
    } else if (!entry.resolving) {
      resolve(user, entry);
    }
    return this;
  }

  private Behavior<Command> onGone(Gone gone) {
    String user = owners.remove(gone.owner());
    Local entry = user == null ? null : local.get(user);
    if (entry == null) {
      return this;
    }
    entry.connections.remove(gone.owner());
    if (entry.connections.isEmpty()) {
      local.remove(user);
      unwatch(user, entry.contacts());
      // behind the heartbeat in flight, if any, so that it cannot bring the entry back
      enqueue(new PresenceStore.Leave(user));
    }
    return this;
  }

  // ---- contacts ----

  private void resolve(String user, Local entry) {
    entry.resolving = true;
    getContext().pipeToSelf(conversationsOf(user), (conversations, failure) -> new Resolved(user, conversations));
  }

  private Behavior<Command> onResolved(Resolved resolved) {
    Local entry = local.get(resolved.user());
    if (entry == null) {
      return this;
    }
    entry.resolving = false;
    if (resolved.conversations() == null) {
      return this; // asked again at the next heartbeat
    }
    entry.conversations = new HashMap<>(resolved.conversations());
    Set<String> contacts = entry.contacts();
    watch(resolved.user(), contacts);
    snapshot(contacts, List.copyOf(entry.connections.values()));
    return this;
  }

  private Behavior<Command> onConversationChanged(ConversationChanged changed) {
    Local entry = local.get(changed.user());
    if (entry != null && entry.conversations != null) {
      getContext().pipeToSelf(participantsOf(changed.user(), changed.conversationId()),
          (participants, failure) -> new ConversationResolved(changed.user(), changed.conversationId(),
              participants));
    }
    return this;
  }

  private Behavior<Command> onConversationResolved(ConversationResolved resolved) {
    Local entry = local.get(resolved.user());
    if (entry == null || entry.conversations == null || resolved.participants() == null) {
      return this;
    }
    Set<String> before = entry.contacts();
    if (resolved.participants().isEmpty()) {
      entry.conversations.remove(resolved.conversationId());
    } else {
      entry.conversations.put(resolved.conversationId(), resolved.participants());
    }
    Set<String> after = entry.contacts();
    Set<String> added = new HashSet<>(after);
    added.removeAll(before);
    Set<String> removed = new HashSet<>(before);
    removed.removeAll(after);
    unwatch(resolved.user(), removed);
    watch(resolved.user(), added);
    snapshot(added, List.copyOf(entry.connections.values()));
    return this;
  }

  private void watch(String user, Set<String> contacts) {
    contacts.forEach(contact -> watchers.computeIfAbsent(contact, c -> new HashSet<>()).add(user));
  }

  private void unwatch(String user, Set<String> contacts) {
    for (String contact : contacts) {
      Set<String> users = watchers.get(contact);
      if (users != null && users.remove(user) && users.isEmpty()) {
        watchers.remove(contact);
        shown.remove(contact);
      }
    }
  }

  /** The other participants of each of the user's conversations. */
  private CompletionStage<Map<String, Set<String>>> conversationsOf(String user) {
    return sharding.entityRefFor(Inbox.ENTITY_KEY, user)
        .<Inbox.Conversations>ask(Inbox.ListConversations::new, askTimeout)
        .thenCompose(list -> {
          Map<String, CompletableFuture<Set<String>>> asks = new HashMap<>();
          list.joinedAt().keySet().forEach(id -> asks.put(id, participantsOf(user, id).toCompletableFuture()));
          return CompletableFuture.allOf(asks.values().toArray(CompletableFuture[]::new)).thenApply(done -> {
            Map<String, Set<String>> conversations = new HashMap<>();
            asks.forEach((id, ask) -> {
              Set<String> others = ask.join();
              if (!others.isEmpty()) {
                conversations.put(id, others);
              }
            });
            return conversations;
          });
        });
  }

  /** The conversation's participants other than {@code user}; empty when {@code user} is not one of them. */
  private CompletionStage<Set<String>> participantsOf(String user, String conversationId) {
    return sharding.entityRefFor(Conversation.ENTITY_KEY, conversationId)
        .<Conversation.Reply>ask(replyTo -> new Conversation.GetInfo(user, replyTo), askTimeout)
        .thenApply(reply -> {
          if (!(reply instanceof Conversation.Info info)) {
            return Set.<String>of();
          }
          Set<String> others = new HashSet<>(info.participants());
          others.remove(user);
          return Set.copyOf(others);
        });
  }

  // ---- what devices are shown ----

  private void snapshot(Set<String> contacts, List<ActorRef<ServerFrame>> to) {
    if (contacts.isEmpty() || to.isEmpty()) {
      return;
    }
    getContext().pipeToSelf(store.read(List.copyOf(contacts)), (statuses, failure) -> new Snapshot(to,
        statuses != null ? statuses : contacts.stream().map(PresenceStore.Status::unknown).toList()));
  }

  private Behavior<Command> onSnapshot(Snapshot snapshot) {
    for (Status status : snapshot.statuses()) {
      if (watchers.containsKey(status.user())) {
        shown.put(status.user(), status);
      }
      snapshot.to().forEach(frames -> frames.tell(frame(status)));
    }
    return this;
  }

  private Behavior<Command> onChanged(Changed changed) {
    show(new Status(changed.user(), changed.online(), changed.lastSeen()));
    return this;
  }

  /** Pushes a contact's new presence to the devices here that see it, unless they were shown it already. */
  private void show(Status status) {
    Set<String> users = watchers.get(status.user());
    if (users == null || status.equals(shown.put(status.user(), status))) {
      return;
    }
    ServerFrame.Presence frame = frame(status);
    for (String user : users) {
      Local entry = local.get(user);
      if (entry != null) {
        entry.connections.values().forEach(frames -> frames.tell(frame));
      }
    }
  }

  private static ServerFrame.Presence frame(Status status) {
    return new ServerFrame.Presence(status.user(), status.online(), status.online() ? null : status.lastSeen());
  }

  // ---- requests ----

  private Behavior<Command> onQuery(Query query) {
    Local entry = local.get(query.asker());
    CompletionStage<Set<String>> contacts = entry != null && entry.conversations != null
        ? CompletableFuture.completedFuture(entry.contacts())
        : conversationsOf(query.asker()).thenApply(conversations -> {
          Set<String> all = new HashSet<>();
          conversations.values().forEach(all::addAll);
          return all;
        });
    contacts.thenCompose(known -> {
      boolean allowed = query.users().stream().allMatch(u -> u.equals(query.asker()) || known.contains(u));
      return allowed
          ? store.read(query.users()).<Answer>thenApply(Statuses::new)
          : CompletableFuture.<Answer>completedFuture(NotContacts.INSTANCE);
    }).thenAccept(answer -> query.replyTo().tell(answer));
    return this;
  }

  // ---- timers ----

  private Behavior<Command> onHeartbeat() {
    local.forEach((user, entry) -> {
      if (entry.conversations == null && !entry.resolving) {
        resolve(user, entry);
      }
    });
    if (!local.isEmpty()) {
      heartbeatDue = true;
      flush();
    }
    return this;
  }

  private Behavior<Command> onSweep() {
    List<String> suspects = new ArrayList<>();
    shown.forEach((contact, status) -> {
      if (status.online() && !local.containsKey(contact)) {
        suspects.add(contact);
      }
    });
    if (!suspects.isEmpty()) {
      getContext().pipeToSelf(store.read(suspects), (statuses, failure) -> new Swept(
          statuses != null ? statuses : List.of()));
    }
    return this;
  }

  private Behavior<Command> onSwept(Swept swept) {
    swept.statuses().stream().filter(status -> !status.online()).forEach(this::show);
    return this;
  }

  // ---- writes to Redis, in order, batched ----

  private void enqueue(PresenceStore.Write write) {
    queued.add(write);
    flush();
  }

  private void flush() {
    if (writing) {
      return;
    }
    if (queued.isEmpty() && heartbeatDue) {
      // a heartbeat waits behind the arrivals and departures queued before it, and is not repeated while
      // its beats are still queued (Redis slow or away)
      heartbeatDue = false;
      local.keySet().forEach(user -> queued.add(new PresenceStore.Beat(user)));
    }
    if (queued.isEmpty()) {
      return;
    }
    List<PresenceStore.Write> batch = new ArrayList<>(Math.min(queued.size(), MAX_WRITES_PER_BATCH));
    while (!queued.isEmpty() && batch.size() < MAX_WRITES_PER_BATCH) {
      batch.add(queued.poll());
    }
    writing = true;
    List<PresenceStore.Write> sent = List.copyOf(batch);
    getContext().pipeToSelf(store.write(sent), (written, failure) -> new Written(sent, written, failure));
  }

  private Behavior<Command> onWritten(Written result) {
    writing = false;
    if (result.failure() != null) {
      // entries expire by themselves: other nodes' sweeps show a user offline then, and the next heartbeat
      // brings the users still here back
      result.writes().forEach(write -> store.failed());
      log.warn("presence: Redis did not take {} presence writes: {}", result.writes().size(),
          result.failure().toString());
    } else {
      for (PresenceStore.Written written : result.written()) {
        if (written instanceof PresenceStore.Beaten beaten && !beaten.wasOnline()
            && local.containsKey(beaten.user())) {
          // a new arrival, or an entry that had expired (Redis restarted or was unreachable): the user is back
          topic.tell(Topic.publish(new Changed(beaten.user(), true, null)));
        } else if (written instanceof PresenceStore.Left left && !left.after().online()
            && !local.containsKey(left.user())) {
          topic.tell(Topic.publish(new Changed(left.user(), false, left.after().lastSeen())));
        }
      }
    }
    flush();
    return this;
  }
}
