package io.parley.session;

import io.parley.identity.DeviceAddress;
import io.parley.serialization.CborSerializable;
import java.util.HashMap;
import java.util.Map;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.persistence.typed.PersistenceId;
import org.apache.pekko.persistence.typed.javadsl.CommandHandler;
import org.apache.pekko.persistence.typed.javadsl.Effect;
import org.apache.pekko.persistence.typed.javadsl.EventHandler;
import org.apache.pekko.persistence.typed.javadsl.EventSourcedBehavior;
import org.apache.pekko.persistence.typed.javadsl.RetentionCriteria;

/**
 * The persisted delivery cursors of one device: per conversation, the highest seq the device has
 * acknowledged. Only ever moves forward. Old events are deleted behind snapshots: cursors are not history.
 */
public final class DeviceCursors
    extends EventSourcedBehavior<DeviceCursors.Command, DeviceCursors.Event, DeviceCursors.State> {

  public sealed interface Command extends CborSerializable {}

  public record Get(ActorRef<State> replyTo) implements Command {}

  /** Persists the given cursors (those not ahead of what is stored are ignored), then replies. */
  public record Advance(Map<String, Long> cursors, ActorRef<State> replyTo) implements Command {}

  public sealed interface Event extends CborSerializable {}

  public record Advanced(Map<String, Long> cursors) implements Event {}

  public record State(Map<String, Long> acked) implements CborSerializable {
    public long ackedFor(String conversationId) {
      return acked.getOrDefault(conversationId, 0L);
    }

    State advance(Map<String, Long> cursors) {
      Map<String, Long> copy = new HashMap<>(acked);
      cursors.forEach((id, seq) -> copy.merge(id, seq, Math::max));
      return new State(Map.copyOf(copy));
    }
  }

  public static Behavior<Command> create(DeviceAddress device) {
    return new DeviceCursors(device);
  }

  private DeviceCursors(DeviceAddress device) {
    super(PersistenceId.of("DeviceCursors", device.entityId()));
  }

  @Override
  public State emptyState() {
    return new State(Map.of());
  }

  @Override
  public RetentionCriteria retentionCriteria() {
    return RetentionCriteria.snapshotEvery(50, 1).withDeleteEventsOnSnapshot();
  }

  @Override
  public CommandHandler<Command, Event, State> commandHandler() {
    return newCommandHandlerBuilder().forAnyState()
        .onCommand(Get.class, (state, cmd) -> Effect().reply(cmd.replyTo(), state))
        .onCommand(Advance.class, this::onAdvance)
        .build();
  }

  private Effect<Event, State> onAdvance(State state, Advance cmd) {
    Map<String, Long> ahead = new HashMap<>();
    cmd.cursors().forEach((id, seq) -> {
      if (seq > state.ackedFor(id)) {
        ahead.put(id, seq);
      }
    });
    if (ahead.isEmpty()) {
      return Effect().reply(cmd.replyTo(), state);
    }
    return Effect().persist(new Advanced(Map.copyOf(ahead))).thenReply(cmd.replyTo(), next -> next);
  }

  @Override
  public EventHandler<State, Event> eventHandler() {
    return newEventHandlerBuilder().forAnyState()
        .onEvent(Advanced.class, (state, e) -> state.advance(e.cursors()))
        .build();
  }
}
