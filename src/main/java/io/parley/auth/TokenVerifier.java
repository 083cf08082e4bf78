package io.parley.auth;

import com.nimbusds.jose.JOSEException;
import com.nimbusds.jose.JOSEObjectType;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.KeySourceException;
import com.nimbusds.jose.jwk.JWKSet;
import com.nimbusds.jose.jwk.source.JWKSource;
import com.nimbusds.jose.jwk.source.JWKSourceBuilder;
import com.nimbusds.jose.proc.BadJOSEException;
import com.nimbusds.jose.proc.DefaultJOSEObjectTypeVerifier;
import com.nimbusds.jose.proc.JWSVerificationKeySelector;
import com.nimbusds.jose.proc.SecurityContext;
import com.nimbusds.jose.util.DefaultResourceRetriever;
import com.nimbusds.jose.util.ResourceRetriever;
import com.nimbusds.jwt.JWTClaimNames;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.proc.DefaultJWTClaimsVerifier;
import com.nimbusds.jwt.proc.DefaultJWTProcessor;
import com.nimbusds.jwt.proc.ExpiredJWTException;
import io.parley.auth.AuthException.Reason;
import io.parley.config.ParleySettings.AuthSettings;
import java.net.InetAddress;
import java.net.MalformedURLException;
import java.net.URI;
import java.net.URL;
import java.net.UnknownHostException;
import java.text.ParseException;
import java.time.Clock;
import java.util.Date;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Verifies bearer JWTs: an RS256 or ES256 signature by a configured key, the issuer, the audience,
 * expiry and not-before (both with the configured clock skew) and a subject, which is the account
 * id. A token verified once is remembered for a while ({@link VerifiedTokens}). Thread-safe. Tokens are
 * never logged.
 */
public final class TokenVerifier {

  /** The claim that lists a principal's roles (an array of strings), when the issuer sets one. */
  public static final String ROLES_CLAIM = "roles";

  private static final Logger log = LoggerFactory.getLogger(TokenVerifier.class);
  private static final Set<JWSAlgorithm> ALGORITHMS = Set.of(JWSAlgorithm.RS256, JWSAlgorithm.ES256);
  // far above any real token, low enough that parsing an oversized header costs nothing
  private static final int MAX_TOKEN_CHARS = 8192;
  private static final int JWKS_HTTP_TIMEOUT_MS = 2000;

  private final DefaultJWTProcessor<SecurityContext> processor;
  private final VerifiedTokens verified;

  private TokenVerifier(DefaultJWTProcessor<SecurityContext> processor, VerifiedTokens verified) {
    this.processor = processor;
    this.verified = verified;
  }

  /**
   * Builds a verifier that accepts keys from the JWKS URL, the PEM public key and {@code localKeys}
   * (the dev token issuer's), whichever are configured.
   *
   * @throws IllegalArgumentException when issuer or audience is blank, a key does not parse, or
   *     there is no key source at all
   */
  public static TokenVerifier create(AuthSettings settings, Clock clock, Optional<JWKSet> localKeys) {
    if (settings.issuer().isBlank() || settings.audience().isBlank()) {
      throw new IllegalArgumentException("parley.auth.issuer and parley.auth.audience must both be set");
    }
    KeySource keys = new KeySource(
        localKeys.map(JWKSet::toPublicJWKSet).orElseGet(JWKSet::new),
        settings.publicKeyPem().isBlank() ? new JWKSet() : PemKeys.parse(settings.publicKeyPem()),
        settings.jwksUrl().isBlank() ? Optional.empty() : Optional.of(remoteKeys(settings.jwksUrl())));
    if (keys.isEmpty()) {
      throw new IllegalArgumentException(
          "no key to verify tokens with: set parley.auth.jwks-url (PARLEY_JWT_JWKS_URL) or "
              + "parley.auth.public-key-pem (PARLEY_JWT_PUBLIC_KEY), or enable dev tokens in the embedded profile");
    }

    DefaultJWTClaimsVerifier<SecurityContext> claims = new DefaultJWTClaimsVerifier<>(
        Set.of(settings.audience()),
        new JWTClaimsSet.Builder().issuer(settings.issuer()).build(),
        Set.of(JWTClaimNames.SUBJECT, JWTClaimNames.EXPIRATION_TIME),
        Set.of()) {
      @Override
      protected Date currentTime() {
        return Date.from(clock.instant());
      }
    };
    claims.setMaxClockSkew(Math.toIntExact(settings.clockSkew().toSeconds()));

    DefaultJWTProcessor<SecurityContext> processor = new DefaultJWTProcessor<>();
    processor.setJWSKeySelector(new JWSVerificationKeySelector<>(ALGORITHMS, keys));
    // "at+jwt" is the type RFC 9068 gives OAuth access tokens; some identity providers set it
    processor.setJWSTypeVerifier(
        new DefaultJOSEObjectTypeVerifier<>(JOSEObjectType.JWT, new JOSEObjectType("at+jwt"), null));
    processor.setJWTClaimsSetVerifier(claims);
    return new TokenVerifier(processor, new VerifiedTokens(settings.verifiedTokens().maxEntries(),
        settings.verifiedTokens().maxAge(), clock));
  }

  /**
   * @param bearerToken the compact JWT, without the {@code Bearer } prefix
   * @throws AuthException MISSING for no token, EXPIRED for a genuine but expired token, INVALID for
   *     anything else (malformed, unsigned, wrong key, issuer, audience, not yet valid, no subject)
   */
  public Principal verify(String bearerToken) throws AuthException {
    if (bearerToken == null || bearerToken.isBlank()) {
      throw new AuthException(Reason.MISSING, "no bearer token");
    }
    if (bearerToken.length() > MAX_TOKEN_CHARS) {
      throw new AuthException(Reason.INVALID, "token too long");
    }
    String token = bearerToken.strip();
    if (verified.enabled()) {
      Optional<Principal> known = verified.get(token);
      if (known.isPresent()) {
        return known.get();
      }
    }
    JWTClaimsSet claims;
    try {
      claims = processor.process(token, null);
    } catch (ExpiredJWTException e) {
      throw new AuthException(Reason.EXPIRED, "token expired");
    } catch (ParseException e) {
      // the parser's message may quote the token's content
      throw new AuthException(Reason.INVALID, "malformed token");
    } catch (BadJOSEException e) {
      throw new AuthException(Reason.INVALID, e.getMessage());
    } catch (KeySourceException e) {
      log.warn("Token rejected: verification keys unavailable: {}", e.getMessage());
      throw new AuthException(Reason.INVALID, "verification keys unavailable");
    } catch (JOSEException e) {
      throw new AuthException(Reason.INVALID, "signature check failed");
    }
    Principal principal = principal(claims);
    if (verified.enabled()) {
      verified.put(token, principal);
    }
    return principal;
  }

  private static Principal principal(JWTClaimsSet claims) throws AuthException {
    String subject = claims.getSubject();
    if (subject == null || subject.isBlank()) {
      throw new AuthException(Reason.INVALID, "empty subject");
    }
    List<String> roles;
    try {
      roles = claims.getStringListClaim(ROLES_CLAIM);
    } catch (ParseException e) {
      throw new AuthException(Reason.INVALID, "roles claim is not a list of strings");
    }
    return new Principal(subject, claims.getExpirationTime().toInstant(), roles == null ? Set.of() : Set.copyOf(roles));
  }

  private static JWKSource<SecurityContext> remoteKeys(String jwksUrl) {
    URL url;
    try {
      url = URI.create(jwksUrl).toURL();
    } catch (IllegalArgumentException | MalformedURLException e) {
      throw new IllegalArgumentException("parley.auth.jwks-url is not a URL", e);
    }
    if (!url.getProtocol().equals("https") && !isLoopback(url.getHost())) {
      log.warn("Token verification keys are fetched over plain HTTP from {}; use https outside a trusted network",
          url.getHost());
    }
    // JWKSourceBuilder's defaults: cached for 5 min and refreshed ahead of expiry, refetched at most
    // every 30 s for an unknown key id; plus one retry. Its 500 ms HTTP timeouts are too short for a
    // cold TLS connection to a remote identity provider.
    ResourceRetriever retriever = new DefaultResourceRetriever(JWKS_HTTP_TIMEOUT_MS, JWKS_HTTP_TIMEOUT_MS,
        JWKSourceBuilder.DEFAULT_HTTP_SIZE_LIMIT);
    return JWKSourceBuilder.<SecurityContext>create(url, retriever).retrying(true).build();
  }

  private static boolean isLoopback(String host) {
    try {
      return InetAddress.getByName(host).isLoopbackAddress();
    } catch (UnknownHostException e) {
      return false;
    }
  }
}
