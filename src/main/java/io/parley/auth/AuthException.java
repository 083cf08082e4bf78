package io.parley.auth;

import java.util.Objects;

/** A bearer token was missing or not accepted. The message never contains the token. */
public final class AuthException extends Exception {

  public enum Reason { MISSING, EXPIRED, INVALID }

  private final Reason reason;

  public AuthException(Reason reason, String message) {
    // rejected tokens are routine (expiry, probing): no stack trace to fill in
    super(message, null, false, false);
    this.reason = Objects.requireNonNull(reason);
  }

  public Reason reason() {
    return reason;
  }
}
