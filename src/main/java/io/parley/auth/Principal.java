package io.parley.auth;

import java.time.Instant;
import java.util.Objects;
import java.util.Set;

/** Who a verified token speaks for: an opaque account id, never a login name. */
public record Principal(String accountId, Instant expiresAt, Set<String> roles) {

  public Principal {
    Objects.requireNonNull(accountId);
    Objects.requireNonNull(expiresAt);
    roles = Set.copyOf(roles);
  }

  public boolean hasRole(String role) {
    return roles.contains(role);
  }
}
