package io.parley.agent.registry;

import static org.apache.pekko.http.javadsl.server.PathMatchers.segment;

import com.fasterxml.jackson.databind.JsonNode;
import io.parley.admin.AdminCredentials;
import io.parley.agent.AgentSpec;
import io.parley.agent.RoutingTable;
import io.parley.gateway.JsonRoutes;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.Executor;
import java.util.function.Function;
import java.util.function.Supplier;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.DispatcherSelector;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.model.StatusCode;
import org.apache.pekko.http.javadsl.model.StatusCodes;
import org.apache.pekko.http.javadsl.server.AllDirectives;
import org.apache.pekko.http.javadsl.server.Route;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The operators' agent registry API (docs/agents-registry.md), with the admin token as every admin route
 * ({@link AdminCredentials}: missing or wrong token 401, none configured 403):
 * {@code GET /v1/admin/agents}, {@code GET|PUT|DELETE /v1/admin/agents/{id}}. A change is stored in MongoDB and
 * then asks the registry singleton for an immediate refresh. No response carries an agent's secret.
 */
public final class AgentAdminRoutes extends AllDirectives {
  private static final Logger log = LoggerFactory.getLogger(AgentAdminRoutes.class);
  static final long MAX_BODY_BYTES = 256 * 1024;
  private static final Set<String> FIELDS = Set.of("id", "displayName", "endpoint", "description", "examples",
      "secret", "enabled");
  private final AdminCredentials credentials;
  private final AgentStore store;
  private final RoutingTable routing;
  private final Runnable refresh;
  private final Supplier<List<AgentSpec>> builtIns;
  private final Executor blocking;

  /**
   * @param routing this node's routing table, for the version the registry has reached
   * @param refresh asks the registry singleton to refresh now ({@link AgentRegistry.Node#refresh})
   * @param builtIns the built-in agents, whose ids cannot be registered
   */
  public AgentAdminRoutes(ActorSystem<?> system, AdminCredentials credentials, AgentStore store,
                          RoutingTable routing, Runnable refresh, Supplier<List<AgentSpec>> builtIns) {
    this.credentials = credentials;
    this.store = store;
    this.routing = routing;
    this.refresh = refresh;
    this.builtIns = builtIns;
    this.blocking = system.dispatchers().lookup(DispatcherSelector.blocking());
  }

  public Route route() {
    return pathPrefix(segment("v1").slash("admin").slash("agents"), () -> admin(() -> concat(
        pathEnd(() -> get(this::list)),
        path(segment(), id -> concat(
            get(() -> withId(id, () -> show(id))),
            put(() -> withId(id, () -> withBody(body -> store(id, body)))),
            delete(() -> withId(id, () -> remove(id))))))));
  }

  private Route list() {
    return blocking(() -> store.all(), agents -> {
      List<Map<String, Object>> views = new ArrayList<>();
      agents.forEach(agent -> views.add(view(agent)));
      return json(StatusCodes.OK, Map.of("agents", views, "registryVersion", routing.current().version()));
    });
  }

  private Route show(String id) {
    return blocking(() -> store.find(id), found -> found
        .map(agent -> json(StatusCodes.OK, view(agent)))
        .orElseGet(() -> error(StatusCodes.NOT_FOUND, "unknown_agent", "no agent " + id + " is registered")));
  }

  private Route store(String id, JsonNode body) {
    if (builtIns.get().stream().anyMatch(agent -> agent.id().equals(id))) {
      return error(StatusCodes.CONFLICT, "reserved_agent_id", "agent " + id + " is built in");
    }
    AgentRegistration registration;
    try {
      registration = registration(id, body);
    } catch (InvalidAgentException e) {
      return error(StatusCodes.BAD_REQUEST, "invalid_agent", e.getMessage());
    }
    return blocking(() -> store.put(id, registration), put -> {
      refresh.run();
      return json(put.created() ? StatusCodes.CREATED : StatusCodes.OK, view(put.agent()));
    });
  }

  private Route remove(String id) {
    return blocking(() -> store.delete(id), deleted -> {
      if (!deleted) {
        return error(StatusCodes.NOT_FOUND, "unknown_agent", "no agent " + id + " is registered");
      }
      refresh.run();
      return complete(HttpResponse.create().withStatus(StatusCodes.NO_CONTENT));
    });
  }

  /** The body of a PUT, checked: unknown fields, wrong types and invalid values are refused by name. */
  private static AgentRegistration registration(String id, JsonNode body) {
    if (!body.isObject()) {
      throw new InvalidAgentException("the body must be a JSON object");
    }
    for (var names = body.fieldNames(); names.hasNext(); ) {
      String name = names.next();
      if (!FIELDS.contains(name)) {
        throw new InvalidAgentException("unknown field " + name + "; the fields are " + String.join(", ",
            new java.util.TreeSet<>(FIELDS)));
      }
    }
    if (body.has("id") && !id.equals(text(body, "id"))) {
      throw new InvalidAgentException("id in the body differs from the id in the path");
    }
    JsonNode examples = body.path("examples");
    if (!examples.isMissingNode() && !examples.isArray()) {
      throw new InvalidAgentException("examples must be an array of strings");
    }
    List<String> lines = new ArrayList<>();
    for (JsonNode example : examples) {
      if (!example.isTextual()) {
        throw new InvalidAgentException("examples must be an array of strings");
      }
      lines.add(example.textValue());
    }
    JsonNode enabled = body.path("enabled");
    if (!enabled.isMissingNode() && !enabled.isBoolean()) {
      throw new InvalidAgentException("enabled must be true or false");
    }
    return AgentRegistration.of(id, text(body, "displayName"), text(body, "endpoint"), text(body, "description"),
        lines, Optional.ofNullable(text(body, "secret")), enabled.isMissingNode() || enabled.booleanValue());
  }

  private static String text(JsonNode body, String field) {
    JsonNode value = body.path(field);
    if (value.isMissingNode() || value.isNull()) {
      return null;
    }
    if (!value.isTextual()) {
      throw new InvalidAgentException(field + " must be a string");
    }
    return value.textValue();
  }

  /** What the API shows of an agent: everything but its secret. */
  private Map<String, Object> view(StoredAgent agent) {
    Map<String, Object> view = new LinkedHashMap<>();
    view.put("id", agent.id());
    view.put("displayName", agent.displayName());
    view.put("endpoint", agent.endpoint().toString());
    view.put("description", agent.description());
    view.put("examples", agent.examples());
    view.put("enabled", agent.enabled());
    view.put("accountId", store.accountIdOf(agent.id()));
    view.put("updatedAt", agent.updatedAt().toString());
    return view;
  }

  // ---- plumbing ----

  private Route admin(Supplier<Route> inner) {
    return credentials.guard(inner);
  }


  private Route withId(String id, Supplier<Route> inner) {
    try {
      AgentRegistration.checkId(id);
    } catch (InvalidAgentException e) {
      return error(StatusCodes.BAD_REQUEST, "invalid_agent_id", e.getMessage());
    }
    return inner.get();
  }

  private Route withBody(Function<JsonNode, Route> inner) {
    return JsonRoutes.withJsonBody(MAX_BODY_BYTES, inner);
  }

  /**
   * Runs a MongoDB operation off the HTTP threads; a registration the store refuses answers 400
   * {@code invalid_agent}, any other store failure 503.
   */
  private <T> Route blocking(Supplier<T> operation, Function<T, Route> answer) {
    CompletableFuture<Supplier<Route>> result = CompletableFuture.supplyAsync(operation, blocking)
        .<Supplier<Route>>handle((value, failure) -> failure == null
            ? () -> answer.apply(value) : () -> failed(failure));
    return onSuccess(result, Supplier::get);
  }

  private Route failed(Throwable failure) {
    Throwable cause = failure instanceof CompletionException && failure.getCause() != null
        ? failure.getCause() : failure;
    if (cause instanceof InvalidAgentException invalid) {
      return error(StatusCodes.BAD_REQUEST, "invalid_agent", invalid.getMessage());
    }
    log.warn("An agent registry admin request failed in the store: {}", failure.toString());
    return error(StatusCodes.SERVICE_UNAVAILABLE, "unavailable", "the agent store failed; retry");
  }

  private Route error(StatusCode status, String code, String message) {
    return JsonRoutes.error(status, code, message);
  }

  private Route json(StatusCode status, Map<String, ?> body) {
    return JsonRoutes.json(status, body);
  }
}
