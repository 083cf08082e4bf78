package io.parley.auth;

import com.nimbusds.jose.JOSEException;
import com.nimbusds.jose.JOSEObjectType;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.JWSSigner;
import com.nimbusds.jose.crypto.ECDSASigner;
import com.nimbusds.jose.crypto.RSASSASigner;
import com.nimbusds.jose.jwk.Curve;
import com.nimbusds.jose.jwk.ECKey;
import com.nimbusds.jose.jwk.JWK;
import com.nimbusds.jose.jwk.JWKSet;
import com.nimbusds.jose.jwk.KeyUse;
import com.nimbusds.jose.jwk.RSAKey;
import com.nimbusds.jose.jwk.gen.RSAKeyGenerator;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.SignedJWT;
import io.parley.config.ParleySettings.AuthSettings;
import io.parley.config.SecretFile;
import java.nio.file.Path;
import java.text.ParseException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Date;
import java.util.UUID;

/**
 * Issues tokens for the embedded profile, signed with a key that is generated once and kept in the data
 * directory (mode 600), so that tokens stay valid across a restart of the node. New keys are RSA 2048 (RS256,
 * the common identity providers' default, whose check costs a node a twentieth of an ES256 one on Java 17);
 * a P-256 key written by an earlier version keeps signing ES256. Thread-safe.
 */
public final class DevTokenIssuer {

  static final String KEY_FILE = "dev-token-key.jwk";

  private final JWK key;
  private final JWSAlgorithm algorithm;
  private final JWSSigner signer;
  private final String issuer;
  private final String audience;
  private final Duration ttl;
  private final Clock clock;

  private DevTokenIssuer(JWK key, AuthSettings settings, Clock clock) throws JOSEException {
    this.key = key;
    if (key instanceof RSAKey rsa) {
      this.algorithm = JWSAlgorithm.RS256;
      this.signer = new RSASSASigner(rsa);
    } else {
      this.algorithm = JWSAlgorithm.ES256;
      this.signer = new ECDSASigner((ECKey) key);
    }
    this.issuer = settings.issuer();
    this.audience = settings.audience();
    this.ttl = settings.devTokenTtl();
    this.clock = clock;
  }

  /**
   * @throws IllegalStateException when dev tokens are disabled, or the stored key is neither a private RSA
   *     key of at least 2048 bits nor a private P-256 key
   */
  public static DevTokenIssuer loadOrCreate(Path dataDir, AuthSettings settings, Clock clock) {
    if (!settings.devTokensEnabled()) {
      throw new IllegalStateException("dev tokens are disabled (parley.auth.dev-tokens.enabled)");
    }
    Path file = dataDir.resolve(KEY_FILE);
    String json = SecretFile.readOrCreate(file, DevTokenIssuer::generateKey);
    try {
      JWK key = JWK.parse(json);
      boolean usable = key.isPrivate() && (key instanceof RSAKey rsa && rsa.size() >= 2048
          || key instanceof ECKey ec && Curve.P_256.equals(ec.getCurve()));
      if (!usable) {
        throw new IllegalStateException(file + " does not hold a private RSA (2048+) or P-256 key");
      }
      return new DevTokenIssuer(key, settings, clock);
    } catch (ParseException | JOSEException e) {
      throw new IllegalStateException(file + " does not hold a usable signing key", e);
    }
  }

  /** A signed token whose subject is {@code accountId}, valid for the configured dev token TTL. */
  public String issue(String accountId) {
    if (accountId == null || accountId.isBlank()) {
      throw new IllegalArgumentException("accountId must not be blank");
    }
    Instant now = clock.instant();
    JWTClaimsSet claims = new JWTClaimsSet.Builder()
        .issuer(issuer)
        .audience(audience)
        .subject(accountId)
        .issueTime(Date.from(now))
        .expirationTime(Date.from(now.plus(ttl)))
        .jwtID(UUID.randomUUID().toString())
        .build();
    JWSHeader header = new JWSHeader.Builder(algorithm)
        .keyID(key.getKeyID())
        .type(JOSEObjectType.JWT)
        .build();
    SignedJWT jwt = new SignedJWT(header, claims);
    try {
      jwt.sign(signer);
    } catch (JOSEException e) {
      throw new IllegalStateException("signing a dev token failed", e);
    }
    return jwt.serialize();
  }

  /** The public half of the signing key, for {@link TokenVerifier#create}. */
  public JWKSet publicKeys() {
    return new JWKSet(key.toPublicJWK());
  }

  private static String generateKey() {
    try {
      return new RSAKeyGenerator(2048)
          .keyUse(KeyUse.SIGNATURE)
          .algorithm(JWSAlgorithm.RS256)
          .keyIDFromThumbprint(true)
          .generate()
          .toJSONString();
    } catch (JOSEException e) {
      throw new IllegalStateException("cannot generate an RSA key", e);
    }
  }
}
