package io.parley.auth;

import com.nimbusds.jose.KeySourceException;
import com.nimbusds.jose.jwk.JWK;
import com.nimbusds.jose.jwk.JWKMatcher;
import com.nimbusds.jose.jwk.JWKSelector;
import com.nimbusds.jose.jwk.JWKSet;
import com.nimbusds.jose.jwk.source.JWKSource;
import com.nimbusds.jose.proc.SecurityContext;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The verification keys of all configured sources together: the node's own dev keys, keys given as
 * PEM, and a remote JWKS. A PEM key carries no key id, so it is offered for any token whose
 * algorithm fits, whatever {@code kid} the token names.
 */
final class KeySource implements JWKSource<SecurityContext> {

  private static final Logger log = LoggerFactory.getLogger(KeySource.class);

  private final JWKSet localKeys;
  private final JWKSet pemKeys;
  private final Optional<JWKSource<SecurityContext>> remote;

  KeySource(JWKSet localKeys, JWKSet pemKeys, Optional<JWKSource<SecurityContext>> remote) {
    this.localKeys = localKeys;
    this.pemKeys = pemKeys;
    this.remote = remote;
  }

  boolean isEmpty() {
    return localKeys.isEmpty() && pemKeys.isEmpty() && remote.isEmpty();
  }

  @Override
  public List<JWK> get(JWKSelector selector, SecurityContext context) throws KeySourceException {
    List<JWK> found = new ArrayList<>(selector.select(localKeys));
    JWKMatcher anyKeyId = new JWKMatcher.Builder(selector.getMatcher()).keyIDs((Set<String>) null).build();
    found.addAll(new JWKSelector(anyKeyId).select(pemKeys));
    boolean namedKeyFound = !found.isEmpty() && selector.getMatcher().getKeyIDs() != null
        && !selector.getMatcher().getKeyIDs().isEmpty();
    if (remote.isEmpty() || namedKeyFound) {
      return found;
    }
    try {
      found.addAll(remote.get().get(selector, context));
    } catch (KeySourceException e) {
      if (found.isEmpty()) {
        throw e;
      }
      log.warn("Remote verification keys unavailable, trying the static ones: {}", e.getMessage());
    }
    return found;
  }
}
