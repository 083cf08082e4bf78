package io.parley.conversation;

import java.util.List;
import java.util.concurrent.CompletionStage;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.persistence.query.EventEnvelope;
import org.apache.pekko.persistence.query.PersistenceQuery;
import org.apache.pekko.persistence.query.javadsl.CurrentEventsByPersistenceIdQuery;
import org.apache.pekko.stream.javadsl.Sink;

/** Reads a range of a conversation's events by seq, straight from the journal. */
public final class ConversationHistory {
  private final ActorSystem<?> system;
  private final CurrentEventsByPersistenceIdQuery journal;

  public ConversationHistory(ActorSystem<?> system, String readJournalPluginId) {
    this.system = system;
    this.journal = PersistenceQuery.get(system)
        .getReadJournalFor(CurrentEventsByPersistenceIdQuery.class, readJournalPluginId);
  }

  /** Events with {@code fromSeq <= seq <= toSeq}, in seq order, at most {@code limit} of them. */
  public CompletionStage<List<ConversationEvent>> read(String conversationId, long fromSeq, long toSeq, int limit) {
    return journal
        .currentEventsByPersistenceId(Conversation.persistenceId(conversationId).id(), fromSeq, toSeq)
        .take(limit)
        .map(envelope -> toEvent(conversationId, envelope))
        .runWith(Sink.seq(), system);
  }

  private static ConversationEvent toEvent(String conversationId, EventEnvelope envelope) {
    return new ConversationEvent(conversationId, envelope.sequenceNr(), (Conversation.Event) envelope.event());
  }
}
