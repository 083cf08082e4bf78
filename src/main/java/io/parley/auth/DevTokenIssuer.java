package io.parley.auth;

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
import io.parley.config.SecretFile;
import java.nio.file.Path;
import java.text.ParseException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Date;
import java.util.UUID;

/**
 * Issues ES256 tokens for the embedded profile, signed with a P-256 key that is generated once and
 * kept in the data directory (mode 600), so that tokens stay valid across a restart of the node.
 * Thread-safe.
 */
public final class DevTokenIssuer {

  static final String KEY_FILE = "dev-token-key.jwk";

  private final ECKey key;
  private final ECDSASigner signer;
  private final String issuer;
  private final String audience;
  private final Duration ttl;
  private final Clock clock;

  private DevTokenIssuer(ECKey key, AuthSettings settings, Clock clock) throws JOSEException {
    this.key = key;
    this.signer = new ECDSASigner(key);
    this.issuer = settings.issuer();
    this.audience = settings.audience();
    this.ttl = settings.devTokenTtl();
    this.clock = clock;
  }

  /**
   * @throws IllegalStateException when dev tokens are disabled, or the stored key is not a private
   *     P-256 key
   */
  public static DevTokenIssuer loadOrCreate(Path dataDir, AuthSettings settings, Clock clock) {
    if (!settings.devTokensEnabled()) {
      throw new IllegalStateException("dev tokens are disabled (parley.auth.dev-tokens.enabled)");
    }
    Path file = dataDir.resolve(KEY_FILE);
    String json = SecretFile.readOrCreate(file, DevTokenIssuer::generateKey);
    try {
      ECKey key = ECKey.parse(json);
      if (!key.isPrivate() || !Curve.P_256.equals(key.getCurve())) {
        throw new IllegalStateException(file + " does not hold a private P-256 key");
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
    JWSHeader header = new JWSHeader.Builder(JWSAlgorithm.ES256)
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
      return new ECKeyGenerator(Curve.P_256)
          .keyUse(KeyUse.SIGNATURE)
          .algorithm(JWSAlgorithm.ES256)
          .keyIDFromThumbprint(true)
          .generate()
          .toJSONString();
    } catch (JOSEException e) {
      throw new IllegalStateException("cannot generate a P-256 key", e);
    }
  }
}
