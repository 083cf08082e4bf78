package io.parley.agent.registry;

import static org.apache.pekko.http.javadsl.server.PathMatchers.segment;

import io.parley.agent.AgentSpec;
import io.parley.agent.RoutingTable;
import io.parley.auth.TokenVerifier;
import io.parley.gateway.BearerTokens;
import io.parley.gateway.JsonRoutes;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.function.Function;
import org.apache.pekko.http.javadsl.model.StatusCodes;
import org.apache.pekko.http.javadsl.server.AllDirectives;
import org.apache.pekko.http.javadsl.server.Route;

/**
 * {@code GET /v1/agents} for signed-in users: the enabled agents a conversation can be started with (id, display
 * name, description, account id, whether it is the front door), read from the node's routing table, so it costs
 * no store round trip. Authenticated with the user's bearer JWT, answered like the edge's other REST routes.
 */
public final class AgentDirectoryRoutes extends AllDirectives {

  private final TokenVerifier verifier;
  private final RoutingTable routing;
  private final String frontDoorId;
  private final Function<String, CompletionStage<Boolean>> ready;

  public AgentDirectoryRoutes(TokenVerifier verifier, RoutingTable routing, String frontDoorId) {
    this(verifier, routing, frontDoorId, account -> CompletableFuture.completedFuture(true));
  }

  /**
   * @param ready whether an agent's account can be messaged yet: its device has published its keys (until
   *     then, a message to it would be encrypted for no device of the agent)
   */
  public AgentDirectoryRoutes(TokenVerifier verifier, RoutingTable routing, String frontDoorId,
                              Function<String, CompletionStage<Boolean>> ready) {
    this.ready = ready;
    this.verifier = verifier;
    this.routing = routing;
    this.frontDoorId = frontDoorId;
  }

  public Route route() {
    return path(segment("v1").slash("agents"), () -> get(() ->
        BearerTokens.authenticated(verifier, user -> agents())));
  }

  private Route agents() {
    List<AgentSpec> enabled = routing.current().agents().stream().filter(AgentSpec::enabled).toList();
    List<CompletableFuture<Boolean>> checks = enabled.stream()
        .map(agent -> ready.apply(agent.accountId()).toCompletableFuture().exceptionally(failure -> false))
        .toList();
    CompletionStage<List<Map<String, Object>>> listed = CompletableFuture
        .allOf(checks.toArray(CompletableFuture[]::new))
        .thenApply(done -> {
          List<Map<String, Object>> views = new java.util.ArrayList<>();
          for (int i = 0; i < enabled.size(); i++) {
            if (checks.get(i).join()) {
              views.add(view(enabled.get(i)));
            }
          }
          return views;
        });
    return onSuccess(listed, agents -> JsonRoutes.json(StatusCodes.OK, Map.of("agents", agents)));
  }

  private Map<String, Object> view(AgentSpec agent) {
    Map<String, Object> view = new LinkedHashMap<>();
    view.put("id", agent.id());
    view.put("displayName", agent.displayName());
    view.put("description", agent.description());
    view.put("accountId", agent.accountId());
    view.put("frontDoor", agent.id().equals(frontDoorId));
    return view;
  }
}
