package io.parley.admin;

import static org.apache.pekko.http.javadsl.server.PathMatchers.segment;

import io.parley.config.ParleySettings;
import io.parley.gateway.JsonRoutes;
import java.time.Duration;
import java.util.Map;
import java.util.function.Supplier;
import org.apache.pekko.actor.ExtendedActorSystem;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.Adapter;
import org.apache.pekko.cluster.Cluster;
import org.apache.pekko.http.javadsl.model.HttpMethods;
import org.apache.pekko.http.javadsl.model.StatusCode;
import org.apache.pekko.http.javadsl.model.StatusCodes;
import org.apache.pekko.http.javadsl.server.AllDirectives;
import org.apache.pekko.http.javadsl.server.Route;
import org.apache.pekko.management.cluster.javadsl.ClusterHttpManagementRoutes;
import org.apache.pekko.management.javadsl.ManagementRouteProvider;
import org.apache.pekko.management.javadsl.ManagementRouteProviderSettings;

/**
 * The operators' routes on the management port (docs/adr/0015), in place of pekko-management's own cluster
 * route provider: its read routes ({@code GET /cluster/members}, {@code /cluster/shards/{type}}) for anyone
 * who reaches the port, its changes (leave, down, join) only with the admin token and only when
 * {@code parley.admin.cluster-changes} is on, and {@code GET /v1/admin/nodes} with the admin token.
 *
 * <p>pekko-management's own authenticator would also guard the health checks and the bootstrap contact
 * point, which probes and joining nodes call without credentials; hence a route provider of its own.
 */
public final class OperatorRoutes extends AllDirectives implements ManagementRouteProvider {
  private static final Duration GATHER_TIMEOUT = Duration.ofSeconds(3);

  private final org.apache.pekko.actor.ActorSystem classic;
  private final ActorSystem<?> system;
  private final AdminCredentials credentials;
  private final boolean clusterChanges;

  /** Created by pekko-management from {@code pekko.management.http.routes}. */
  public OperatorRoutes(ExtendedActorSystem classic) {
    ParleySettings settings = ParleySettings.from(classic.settings().config());
    this.classic = classic;
    this.system = Adapter.toTyped(classic);
    this.credentials = AdminCredentials.of(settings.auth().adminToken());
    this.clusterChanges = settings.admin().clusterChanges();
  }

  @Override
  public Route routes(ManagementRouteProviderSettings routeSettings) {
    Cluster cluster = Cluster.get(classic);
    Route read = ClusterHttpManagementRoutes.readOnly(cluster);
    Route changes = clusterChanges
        ? admin(() -> ClusterHttpManagementRoutes.all(cluster))
        : extractMethod(method -> method.equals(HttpMethods.GET) ? reject()
            : json(StatusCodes.FORBIDDEN, Map.of("error", "read_only",
                "message", "cluster changes are off (parley.admin.cluster-changes)")));
    return concat(
        path(segment("v1").slash("admin").slash("nodes"), () -> get(() -> admin(this::nodes))),
        AdminRouteRegistry.get(system).route(),
        get(() -> read),
        // the library's routes carry their own /cluster prefix: test it without consuming it
        pathPrefixTest("cluster", () -> changes));
  }

  private Route nodes() {
    return onSuccess(ClusterOverview.gather(system, GATHER_TIMEOUT), overview -> json(StatusCodes.OK, overview));
  }

  private Route admin(Supplier<Route> inner) {
    return credentials.guard(inner);
  }


  private Route json(StatusCode status, Object body) {
    return JsonRoutes.json(status, body);
  }

}
