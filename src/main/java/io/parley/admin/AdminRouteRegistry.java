package io.parley.admin;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.Extension;
import org.apache.pekko.actor.typed.ExtensionId;
import org.apache.pekko.http.javadsl.server.AllDirectives;
import org.apache.pekko.http.javadsl.server.Route;

/**
 * Admin routes that features add to the management port after the node has started (pekko-management builds
 * {@link OperatorRoutes} by reflection, before those features exist). Each route checks the admin token
 * itself.
 */
public final class AdminRouteRegistry extends AllDirectives implements Extension {
  private static final Id ID = new Id();

  private final List<Route> routes = new CopyOnWriteArrayList<>();

  public static AdminRouteRegistry get(ActorSystem<?> system) {
    return system.registerExtension(ID);
  }

  public void add(Route route) {
    routes.add(route);
  }

  /** The routes added so far, tried in order; rejects when there are none. */
  Route route() {
    return extractRequestContext(request -> routes.isEmpty() ? reject()
        : concat(routes.get(0), routes.subList(1, routes.size()).toArray(Route[]::new)));
  }

  private static final class Id extends ExtensionId<AdminRouteRegistry> {
    @Override
    public AdminRouteRegistry createExtension(ActorSystem<?> system) {
      return new AdminRouteRegistry();
    }
  }
}
