package io.parley.gateway;

import io.parley.auth.AuthException;
import io.parley.auth.Principal;
import io.parley.auth.TokenVerifier;
import java.util.Map;
import java.util.function.Function;
import org.apache.pekko.http.javadsl.model.StatusCodes;
import org.apache.pekko.http.javadsl.model.headers.HttpChallenge;
import org.apache.pekko.http.javadsl.model.headers.WWWAuthenticate;
import org.apache.pekko.http.javadsl.server.Directives;
import org.apache.pekko.http.javadsl.server.Route;

/** The client port's REST routes are for signed-in users: a bearer JWT, or 401 with a stable error code. */
public final class BearerTokens {

  private BearerTokens() {}

  public static Route authenticated(TokenVerifier verifier, Function<Principal, Route> inner) {
    return Directives.optionalHeaderValueByName("Authorization", header -> {
      String token = header.filter(h -> h.regionMatches(true, 0, "Bearer ", 0, 7))
          .map(h -> h.substring(7).trim()).orElse("");
      try {
        return inner.apply(verifier.verify(token));
      } catch (AuthException e) {
        return Directives.respondWithHeader(WWWAuthenticate.create(HttpChallenge.create("Bearer", "parley")),
            () -> JsonRoutes.json(StatusCodes.UNAUTHORIZED, switch (e.reason()) {
              case MISSING -> Map.of("error", "unauthenticated", "message", "a bearer token is required");
              case EXPIRED -> Map.of("error", "token_expired", "message", "the token has expired");
              case INVALID -> Map.of("error", "token_invalid", "message", "the token is not valid");
            }));
      }
    });
  }
}
