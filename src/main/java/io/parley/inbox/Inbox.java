package io.parley.inbox;

import io.parley.conversation.Conversation;
import io.parley.conversation.ConversationEvent;
import io.parley.identity.DeviceAddress;
import io.parley.serialization.CborSerializable;
import io.parley.session.DeviceSession;
import java.time.Clock;
import java.util.HashMap;
import java.util.Map;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
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
 * One user's inbox: which devices the user has and which conversations the user is in (with the seq at
 * which the user joined). It forwards every conversation event to each of the user's device sessions.
 */
public final class Inbox extends EventSourcedBehavior<Inbox.Command, Inbox.Event, Inbox.State> {

  public static final EntityTypeKey<Command> ENTITY_KEY = EntityTypeKey.create(Command.class, "Inbox");

  public sealed interface Command extends CborSerializable {}

  /** A persisted conversation event for this user. */
  public record Deliver(ConversationEvent event) implements Command {}

  /** The conversation lists this user as a member since {@code fromSeq} (sent after a conversation recovers). */
  public record MemberOf(String conversationId, long fromSeq) implements Command {}

  public record Typing(String conversationId, DeviceAddress from, boolean active) implements Command {}

  public record RegisterDevice(int device, ActorRef<Registration> replyTo) implements Command {}

  public record ListConversations(ActorRef<Conversations> replyTo) implements Command {}

  /** The device was unlinked from the key directory: it gets nothing more. */
  public record RemoveDevice(int device) implements Command {}

  public sealed interface Registration extends CborSerializable {}

  public record Registered(int device) implements Registration {}

  public record TooManyDevices(int limit) implements Registration {}

  /** conversation id → the seq from which this user sees the conversation. */
  public record Conversations(Map<String, Long> joinedAt) implements CborSerializable {}

  public sealed interface Event extends CborSerializable {}

  public record DeviceRegistered(int device, long at) implements Event {}

  public record DeviceRemoved(int device) implements Event {}

  public record Joined(String conversationId, long fromSeq) implements Event {}

  public record Left(String conversationId) implements Event {}

  public record State(Map<Integer, Long> devices, Map<String, Long> conversations) implements CborSerializable {
    State withDevice(int device, long at) {
      Map<Integer, Long> copy = new HashMap<>(devices);
      copy.put(device, at);
      return new State(Map.copyOf(copy), conversations);
    }

    State withoutDevice(int device) {
      Map<Integer, Long> copy = new HashMap<>(devices);
      copy.remove(device);
      return new State(Map.copyOf(copy), conversations);
    }

    State withConversation(String id, long fromSeq) {
      Map<String, Long> copy = new HashMap<>(conversations);
      copy.put(id, fromSeq);
      return new State(devices, Map.copyOf(copy));
    }

    State withoutConversation(String id) {
      Map<String, Long> copy = new HashMap<>(conversations);
      copy.remove(id);
      return new State(devices, Map.copyOf(copy));
    }
  }

  private final String user;
  private final int maxDevices;
  private final Clock clock;
  private final ClusterSharding sharding;

  public static void init(ActorSystem<?> system, int maxDevices, Clock clock) {
    ClusterSharding.get(system).init(Entity.of(ENTITY_KEY, ctx ->
        create(ctx.getEntityId(), maxDevices, clock)));
  }

  public static Behavior<Command> create(String user, int maxDevices, Clock clock) {
    return Behaviors.setup(ctx -> new Inbox(user, maxDevices, clock, ClusterSharding.get(ctx.getSystem())));
  }

  private Inbox(String user, int maxDevices, Clock clock, ClusterSharding sharding) {
    super(PersistenceId.of(ENTITY_KEY.name(), user));
    this.user = user;
    this.maxDevices = maxDevices;
    this.clock = clock;
    this.sharding = sharding;
  }

  @Override
  public State emptyState() {
    return new State(Map.of(), Map.of());
  }

  @Override
  public RetentionCriteria retentionCriteria() {
    return RetentionCriteria.snapshotEvery(100, 2);
  }

  @Override
  public CommandHandler<Command, Event, State> commandHandler() {
    return newCommandHandlerBuilder().forAnyState()
        .onCommand(Deliver.class, this::onDeliver)
        .onCommand(MemberOf.class, this::onMemberOf)
        .onCommand(Typing.class, this::onTyping)
        .onCommand(RegisterDevice.class, this::onRegisterDevice)
        .onCommand(RemoveDevice.class, (state, cmd) -> state.devices().containsKey(cmd.device())
            ? Effect().persist(new DeviceRemoved(cmd.device()))
            : Effect().none())
        .onCommand(ListConversations.class, (state, cmd) ->
            Effect().reply(cmd.replyTo(), new Conversations(state.conversations())))
        .build();
  }

  private Effect<Event, State> onDeliver(State state, Deliver cmd) {
    ConversationEvent event = cmd.event();
    String conversationId = event.conversationId();
    boolean member = state.conversations().containsKey(conversationId);
    if (event.event() instanceof Conversation.MemberRemoved removed && removed.user().equals(user)) {
      long fromSeq = state.conversations().getOrDefault(conversationId, event.seq());
      forward(state, event, fromSeq);
      return member ? Effect().persist(new Left(conversationId)) : Effect().none();
    }
    if (!member) {
      // joined now (created, added) or the join notice was lost: start where this event is
      return Effect().persist(new Joined(conversationId, event.seq()))
          .thenRun(next -> forward(next, event, event.seq()));
    }
    forward(state, event, state.conversations().get(conversationId));
    return Effect().none();
  }

  private Effect<Event, State> onMemberOf(State state, MemberOf cmd) {
    if (state.conversations().containsKey(cmd.conversationId())) {
      return Effect().none();
    }
    return Effect().persist(new Joined(cmd.conversationId(), cmd.fromSeq()));
  }

  private Effect<Event, State> onTyping(State state, Typing cmd) {
    state.devices().keySet().forEach(device -> {
      DeviceAddress address = new DeviceAddress(user, device);
      if (!address.equals(cmd.from())) {
        session(address).tell(new DeviceSession.TypingNotice(cmd.conversationId(), cmd.from(), cmd.active()));
      }
    });
    return Effect().none();
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

  private void forward(State state, ConversationEvent event, long fromSeq) {
    state.devices().keySet().forEach(device ->
        session(new DeviceAddress(user, device)).tell(new DeviceSession.Deliver(event, fromSeq)));
  }

  private org.apache.pekko.cluster.sharding.typed.javadsl.EntityRef<DeviceSession.Command> session(DeviceAddress address) {
    return sharding.entityRefFor(DeviceSession.ENTITY_KEY, address.entityId());
  }

  @Override
  public EventHandler<State, Event> eventHandler() {
    return newEventHandlerBuilder().forAnyState()
        .onEvent(DeviceRegistered.class, (state, e) -> state.withDevice(e.device(), e.at()))
        .onEvent(DeviceRemoved.class, (state, e) -> state.withoutDevice(e.device()))
        .onEvent(Joined.class, (state, e) -> state.withConversation(e.conversationId(), e.fromSeq()))
        .onEvent(Left.class, (state, e) -> state.withoutConversation(e.conversationId()))
        .build();
  }
}
