package io.parley.auth;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Tokens this node verified recently, so that a client's token costs one signature check per node rather
 * than one per connect and per request (an ES256 check costs about a millisecond of CPU on Java 17). Keyed by
 * the token's SHA-256, never the token itself. An entry lives until the token expires or {@code maxAge}
 * passes, whichever comes first; {@code maxAge} bounds how long a key the identity provider withdrew from its
 * JWKS keeps admitting tokens it signed. Thread-safe.
 *
 * <p>Bounded by {@code maxEntries} (about 300 bytes each): a full cache first drops what has expired, and is
 * emptied if that freed less than a tenth of it (tokens are then verified again, which is only slower). Caffeine would evict more gently, but
 * the Kamon bundle already carries an unshaded Caffeine 2 that a second copy would clash with in the jar.
 */
final class VerifiedTokens {

  private record Entry(Principal principal, Instant until) {}

  private final ConcurrentHashMap<ByteBuffer, Entry> entries = new ConcurrentHashMap<>();
  private final int maxEntries;
  private final Duration maxAge;
  private final Clock clock;

  VerifiedTokens(int maxEntries, Duration maxAge, Clock clock) {
    this.maxEntries = maxEntries;
    this.maxAge = maxAge;
    this.clock = clock;
  }

  boolean enabled() {
    return maxEntries > 0 && !maxAge.isZero() && !maxAge.isNegative();
  }

  /** The principal of {@code token} when this node verified it and the entry has not run out. */
  Optional<Principal> get(String token) {
    ByteBuffer key = hash(token);
    Entry entry = entries.get(key);
    if (entry == null) {
      return Optional.empty();
    }
    if (!clock.instant().isBefore(entry.until())) {
      entries.remove(key, entry);
      return Optional.empty();
    }
    return Optional.of(entry.principal());
  }

  void put(String token, Principal principal) {
    Instant now = clock.instant();
    Instant until = now.plus(maxAge);
    if (principal.expiresAt().isBefore(until)) {
      until = principal.expiresAt();
    }
    if (!now.isBefore(until)) {
      return;
    }
    if (entries.size() >= maxEntries) {
      entries.values().removeIf(entry -> !now.isBefore(entry.until()));
      // freeing only a few slots would make the next few puts scan the whole map again
      if (entries.size() >= maxEntries - maxEntries / 10) {
        entries.clear();
      }
    }
    entries.put(hash(token), new Entry(principal, until));
  }

  int size() {
    return entries.size();
  }

  private static ByteBuffer hash(String token) {
    try {
      return ByteBuffer.wrap(MessageDigest.getInstance("SHA-256").digest(token.getBytes(StandardCharsets.UTF_8)));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("every Java runtime has SHA-256", e);
    }
  }
}
