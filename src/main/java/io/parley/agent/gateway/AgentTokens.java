package io.parley.agent.gateway;

import com.nimbusds.jose.JOSEException;
import com.nimbusds.jose.JOSEObjectType;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.crypto.ECDSASigner;
import com.nimbusds.jose.jwk.Curve;
import com.nimbusds.jose.jwk.ECKey;
import com.nimbusds.jose.jwk.JWKSet;
import com.nimbusds.jose.jwk.KeyUse;
import com.nimbusds.jose.jwk.gen.ECKeyGenerator;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.SignedJWT;
import io.parley.config.ParleySettings.AuthSettings;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Date;
import java.util.UUID;

/**
 * Tokens with which the agent gateway's clients connect to their own node as the agents' devices. The
 * signing key is made in memory when the node starts and never leaves it: only this node accepts these
 * tokens, and the gateway's clients only ever connect to this node.
 */
public final class AgentTokens {
  private static final Duration TTL = Duration.ofMinutes(15);

  private final ECKey key;
  private final ECDSASigner signer;
  private final String issuer;
  private final String audience;
  private final Clock clock;

  public AgentTokens(AuthSettings settings, Clock clock) {
    try {
      this.key = new ECKeyGenerator(Curve.P_256)
          .keyUse(KeyUse.SIGNATURE)
          .algorithm(JWSAlgorithm.ES256)
          .keyID("agent-gateway-" + UUID.randomUUID())
          .generate();
      this.signer = new ECDSASigner(key);
    } catch (JOSEException e) {
      throw new IllegalStateException("cannot generate the agent gateway's signing key", e);
    }
    this.issuer = settings.issuer();
    this.audience = settings.audience();
    this.clock = clock;
  }

  public String issue(String agentAccountId) {
    Instant now = clock.instant();
    JWTClaimsSet claims = new JWTClaimsSet.Builder()
        .issuer(issuer)
        .audience(audience)
        .subject(agentAccountId)
        .issueTime(Date.from(now))
        .expirationTime(Date.from(now.plus(TTL)))
        .jwtID(UUID.randomUUID().toString())
        .build();
    SignedJWT jwt = new SignedJWT(
        new JWSHeader.Builder(JWSAlgorithm.ES256).keyID(key.getKeyID()).type(JOSEObjectType.JWT).build(), claims);
    try {
      jwt.sign(signer);
    } catch (JOSEException e) {
      throw new IllegalStateException("signing an agent token failed", e);
    }
    return jwt.serialize();
  }

  /** The public key, for the node's token verifier. */
  public JWKSet publicKeys() {
    return new JWKSet(key.toPublicJWK());
  }
}
