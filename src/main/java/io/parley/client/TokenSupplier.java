package io.parley.client;

import java.util.concurrent.CompletableFuture;

/**
 * Where the client gets its bearer token (a JWT whose {@code sub} is the account id). Asked once at start
 * and again with {@code refresh = true} when the server says the token expired or was refused.
 */
@FunctionalInterface
public interface TokenSupplier {
  CompletableFuture<String> token(boolean refresh);

  /** Always the same token: for tests and short-lived tools. */
  static TokenSupplier fixed(String token) {
    return refresh -> CompletableFuture.completedFuture(token);
  }
}
