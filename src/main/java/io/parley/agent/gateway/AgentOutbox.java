package io.parley.agent.gateway;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.datatype.jsr310.JavaTimeModule;
import com.mongodb.WriteConcern;
import com.mongodb.client.MongoCollection;
import com.mongodb.client.MongoDatabase;
import com.mongodb.client.model.Filters;
import com.mongodb.client.model.ReplaceOptions;
import com.mongodb.client.model.Sorts;
import io.parley.agent.events.AgentMessage;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.Date;
import java.util.List;
import org.bson.Document;
import org.bson.types.Binary;

/**
 * The messages an agent's device has received and acknowledged but its agent service has not yet accepted.
 * A message is stored here (sealed under the agent's data key: it is plaintext) before the device
 * acknowledges it, and removed once the agent took it, so an outage or a move to another node loses
 * nothing. One writer per agent: the agent's endpoint entity.
 */
public final class AgentOutbox {
  public static final String COLLECTION = "agent_outbox";
  private static final ObjectMapper JSON = new ObjectMapper().registerModule(new JavaTimeModule());

  /** A stored message and its place in the outbox. */
  public record Entry(String id, AgentMessage message) {}

  private final MongoCollection<Document> outbox;
  private final String agentId;
  private final DataKey key;
  private final java.time.Clock clock;

  public AgentOutbox(MongoDatabase db, String agentId, DataKey key, java.time.Clock clock) {
    this.clock = clock;
    this.outbox = db.getCollection(COLLECTION).withWriteConcern(WriteConcern.MAJORITY);
    this.agentId = agentId;
    this.key = key;
  }

  public Entry add(AgentMessage message) {
    String id = agentId + "|" + message.eventId();
    byte[] plain;
    try {
      plain = JSON.writeValueAsBytes(message);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    // a redelivered message replaces its own earlier copy: same id, same content
    outbox.replaceOne(Filters.eq("_id", id), new Document("_id", id)
            .append("agent", agentId)
            .append("at", Date.from(clock.instant()))
            .append("seq", message.seq())
            .append("sealed", new Binary(key.seal(plain, id))),
        new ReplaceOptions().upsert(true));
    return new Entry(id, message);
  }

  public void remove(Entry entry) {
    outbox.deleteOne(Filters.eq("_id", entry.id()));
  }

  /** Everything still waiting, in the order it arrived. */
  public List<Entry> pending() {
    List<Entry> entries = new ArrayList<>();
    for (Document doc : outbox.find(Filters.eq("agent", agentId)).sort(Sorts.ascending("at", "seq"))) {
      String id = doc.getString("_id");
      try {
        entries.add(new Entry(id, JSON.readValue(key.open(doc.get("sealed", Binary.class).getData(), id),
            AgentMessage.class)));
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    }
    return entries;
  }
}
