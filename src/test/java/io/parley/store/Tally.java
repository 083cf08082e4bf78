package io.parley.store;

import io.parley.serialization.CborSerializable;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.persistence.typed.PersistenceId;
import org.apache.pekko.persistence.typed.javadsl.CommandHandler;
import org.apache.pekko.persistence.typed.javadsl.EventHandler;
import org.apache.pekko.persistence.typed.javadsl.EventSourcedBehavior;

/** A minimal event-sourced entity for the store tests: adds numbers and remembers their sum. */
final class Tally extends EventSourcedBehavior<Tally.Command, Tally.Added, Tally.State> {

  sealed interface Command {}

  record Add(int amount, ActorRef<Long> replyTo) implements Command {}

  record Get(ActorRef<State> replyTo) implements Command {}

  record Added(int amount, String note) implements CborSerializable {}

  record State(long total, int events) {
    State add(int amount) {
      return new State(total + amount, events + 1);
    }
  }

  static Behavior<Command> create(String id) {
    return new Tally(PersistenceId.of("Tally", id));
  }

  private Tally(PersistenceId persistenceId) {
    super(persistenceId);
  }

  @Override
  public State emptyState() {
    return new State(0, 0);
  }

  @Override
  public CommandHandler<Command, Added, State> commandHandler() {
    return newCommandHandlerBuilder()
        .forAnyState()
        .onCommand(Add.class, (state, add) -> Effect()
            .persist(new Added(add.amount(), "added " + add.amount()))
            .thenReply(add.replyTo(), newState -> newState.events() * 1L))
        .onCommand(Get.class, (state, get) -> Effect().reply(get.replyTo(), state))
        .build();
  }

  @Override
  public EventHandler<State, Added> eventHandler() {
    return newEventHandlerBuilder().forAnyState().onEvent(Added.class, (state, added) -> state.add(added.amount())).build();
  }
}
