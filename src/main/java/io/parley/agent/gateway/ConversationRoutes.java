package io.parley.agent.gateway;

import com.mongodb.WriteConcern;
import com.mongodb.client.MongoCollection;
import com.mongodb.client.MongoDatabase;
import com.mongodb.client.model.Filters;
import com.mongodb.client.model.ReplaceOptions;
import java.time.Clock;
import java.util.ArrayList;
import java.util.Date;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import org.bson.Document;

/**
 * Which agents the front door has handed each of its conversations to ({@code agent_routes}): the current
 * one gets the next message, and every one of them may still reply there. Conversation ids are random
 * and name no person.
 */
public final class ConversationRoutes {
  public static final String COLLECTION = "agent_routes";

  /** {@code current}: null before the first message was routed. */
  public record Route(String current, Set<String> agents) {
    public static final Route NONE = new Route(null, Set.of());

    public Route to(String agent) {
      Set<String> all = new LinkedHashSet<>(agents);
      all.add(agent);
      return new Route(agent, Set.copyOf(all));
    }
  }

  private final MongoCollection<Document> routes;
  private final Clock clock;

  public ConversationRoutes(MongoDatabase db, Clock clock) {
    this.routes = db.getCollection(COLLECTION).withWriteConcern(WriteConcern.MAJORITY);
    this.clock = clock;
  }

  public Route load(String frontDoor, String conversationId) {
    Document doc = routes.find(Filters.eq("_id", id(frontDoor, conversationId))).first();
    if (doc == null) {
      return Route.NONE;
    }
    return new Route(doc.getString("current"), Set.copyOf(doc.getList("agents", String.class)));
  }

  public void save(String frontDoor, String conversationId, Route route) {
    String id = id(frontDoor, conversationId);
    routes.replaceOne(Filters.eq("_id", id), new Document("_id", id)
        .append("current", route.current())
        .append("agents", new ArrayList<>(route.agents()))
        .append("updatedAt", Date.from(clock.instant())), new ReplaceOptions().upsert(true));
  }

  private static String id(String frontDoor, String conversationId) {
    return frontDoor + "|" + conversationId;
  }

}
