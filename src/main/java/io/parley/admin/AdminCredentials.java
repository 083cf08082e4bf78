package io.parley.admin;

import io.parley.gateway.JsonRoutes;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Optional;
import java.util.function.Supplier;
import org.apache.pekko.http.javadsl.model.StatusCodes;
import org.apache.pekko.http.javadsl.model.headers.HttpChallenge;
import org.apache.pekko.http.javadsl.model.headers.WWWAuthenticate;
import org.apache.pekko.http.javadsl.server.Directives;
import org.apache.pekko.http.javadsl.server.Route;

/**
 * The operators' credential: the admin token ({@code parley.auth.admin-token}), presented as
 * {@code Authorization: Bearer <token>}. Only its SHA-256 digest is kept, compared in constant time.
 */
public final class AdminCredentials {

  /** What a request's Authorization header amounts to. */
  public enum Check { ADMIN, MISSING, WRONG, DISABLED }

  private final Optional<byte[]> digest;

  private AdminCredentials(Optional<byte[]> digest) {
    this.digest = digest;
  }

  /** {@code token} blank: no admin token is configured, and every admin request is refused. */
  public static AdminCredentials of(String token) {
    return new AdminCredentials(token == null || token.isBlank() ? Optional.empty() : Optional.of(sha256(token.strip())));
  }

  public boolean isConfigured() {
    return digest.isPresent();
  }

  /** Checks an {@code Authorization} header value (absent when the request has none). */
  public Check check(Optional<String> authorization) {
    if (digest.isEmpty()) {
      return Check.DISABLED;
    }
    Optional<String> token = authorization
        .filter(h -> h.regionMatches(true, 0, "Bearer ", 0, 7))
        .map(h -> h.substring(7).strip())
        .filter(t -> !t.isEmpty());
    if (token.isEmpty()) {
      return Check.MISSING;
    }
    return MessageDigest.isEqual(digest.get(), sha256(token.get())) ? Check.ADMIN : Check.WRONG;
  }

  private static byte[] sha256(String value) {
    try {
      return MessageDigest.getInstance("SHA-256").digest(value.getBytes(StandardCharsets.UTF_8));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("SHA-256 is part of every Java platform", e);
    }
  }

  /**
   * {@code inner} for a request carrying the admin token; otherwise 401 (missing or wrong token) or 403 (no admin
   * token configured), with a stable error code.
   */
  public Route guard(Supplier<Route> inner) {
    return Directives.optionalHeaderValueByName("Authorization", header -> switch (check(header)) {
      case ADMIN -> inner.get();
      case DISABLED -> JsonRoutes.error(StatusCodes.FORBIDDEN, "admin_disabled",
          "no admin token is configured (PARLEY_ADMIN_TOKEN)");
      case MISSING -> unauthorized("unauthenticated", "the admin token is required");
      case WRONG -> unauthorized("token_invalid", "not the admin token");
    });
  }

  private static Route unauthorized(String code, String message) {
    return Directives.respondWithHeader(WWWAuthenticate.create(HttpChallenge.create("Bearer", "parley-admin")),
        () -> JsonRoutes.error(StatusCodes.UNAUTHORIZED, code, message));
  }
}
