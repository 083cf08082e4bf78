package io.parley.agent.gateway;

import com.mongodb.client.MongoDatabase;
import io.parley.agent.AgentAccounts;
import io.parley.agent.RoutingTable;
import io.parley.agent.events.AgentDispatcher;
import io.parley.agent.routing.IntentClassifier;
import java.net.URI;
import java.time.Clock;

/** What an agent endpoint needs on its node. {@code localNode}: this node's client edge (WebSocket and HTTP). */
public record AgentGatewayDeps(
    MongoDatabase database,
    AgentDataKeys dataKeys,
    AgentAccounts accounts,
    AgentTokens tokens,
    URI localNode,
    RoutingTable routing,
    IntentClassifier classifier,
    AgentDispatcher dispatcher,
    AgentAvailability availability,
    ConversationRoutes routes,
    String frontDoorId,
    Clock clock) {

  /** Every agent has one device. */
  public static final int AGENT_DEVICE = 1;

  /** Everything but the node's edge address, which is known only once the edge has bound. */
  public record Partial(MongoDatabase database, AgentDataKeys dataKeys, AgentAccounts accounts, AgentTokens tokens,
                        RoutingTable routing, IntentClassifier classifier, AgentDispatcher dispatcher,
                        AgentAvailability availability, ConversationRoutes routes, String frontDoorId, Clock clock) {
    public AgentGatewayDeps at(URI localNode) {
      return new AgentGatewayDeps(database, dataKeys, accounts, tokens, localNode, routing, classifier, dispatcher,
          availability, routes, frontDoorId, clock);
    }
  }
}
