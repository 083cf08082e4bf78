package io.parley.auth;

import static io.parley.auth.TestKeys.AUDIENCE;
import static io.parley.auth.TestKeys.ISSUER;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import com.nimbusds.jose.jwk.JWKSet;
import com.nimbusds.jose.jwk.RSAKey;
import com.nimbusds.jwt.JWTClaimsSet;
import io.parley.auth.AuthException.Reason;
import io.parley.config.ParleySettings.AuthSettings;
import io.parley.config.ParleySettings.VerifiedTokenCache;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.Date;
import java.util.Optional;
import java.util.Set;
import org.junit.jupiter.api.Test;

class VerifiedTokensTest {

  private static final Instant START = Instant.parse("2030-01-01T12:00:00Z");
  private static final RSAKey RSA = TestKeys.rsa("rsa-cache");

  private final MovingClock clock = new MovingClock();

  @Test
  void remembersAVerifiedTokenUntilMaxAge() {
    VerifiedTokens tokens = new VerifiedTokens(10, Duration.ofMinutes(10), clock);
    Principal alice = principal("u_alice", START.plusSeconds(3600));

    tokens.put("token-a", alice);
    clock.now = START.plusSeconds(599);
    assertThat(tokens.get("token-a")).contains(alice);
    assertThat(tokens.get("token-b")).isEmpty();

    clock.now = START.plusSeconds(600);
    assertThat(tokens.get("token-a")).isEmpty();
    assertThat(tokens.size()).isZero();
  }

  @Test
  void forgetsATokenWhenItExpiresBeforeMaxAge() {
    VerifiedTokens tokens = new VerifiedTokens(10, Duration.ofMinutes(10), clock);
    tokens.put("short", principal("u_alice", START.plusSeconds(60)));

    clock.now = START.plusSeconds(60);

    assertThat(tokens.get("short")).isEmpty();
  }

  @Test
  void staysWithinItsBoundDroppingExpiredEntriesFirst() {
    VerifiedTokens tokens = new VerifiedTokens(3, Duration.ofMinutes(10), clock);
    tokens.put("expiring", principal("u_a", START.plusSeconds(30)));
    tokens.put("b", principal("u_b", START.plusSeconds(3600)));
    tokens.put("c", principal("u_c", START.plusSeconds(3600)));
    clock.now = START.plusSeconds(31);

    tokens.put("d", principal("u_d", START.plusSeconds(3600)));
    assertThat(tokens.size()).isEqualTo(3);
    assertThat(tokens.get("b")).isPresent();

    tokens.put("e", principal("u_e", START.plusSeconds(3600)));
    assertThat(tokens.size()).isEqualTo(1);
    assertThat(tokens.get("e")).isPresent();
  }

  @Test
  void aRememberedTokenIsStillRefusedOnceExpired() throws AuthException {
    TokenVerifier verifier = TokenVerifier.create(TestKeys.settings("", ""), clock, Optional.of(new JWKSet(RSA)));
    String token = TestKeys.sign(RSA, new JWTClaimsSet.Builder().issuer(ISSUER).audience(AUDIENCE)
        .subject("u_alice").issueTime(Date.from(START)).expirationTime(Date.from(START.plusSeconds(120))).build());

    assertThat(verifier.verify(token).accountId()).isEqualTo("u_alice");
    clock.now = START.plusSeconds(119);
    assertThat(verifier.verify(token).accountId()).isEqualTo("u_alice");

    clock.now = START.plusSeconds(120 + 31); // past expiry and the 30 s clock skew
    AuthException refused = catchThrowableOfType(() -> verifier.verify(token), AuthException.class);
    assertThat(refused.reason()).isEqualTo(Reason.EXPIRED);
  }

  @Test
  void theVerifierAnswersARememberedTokenWithoutCheckingItAgain() throws AuthException {
    // observed through a check that only a full verification makes: not-before, with the clock moved back
    String token = TestKeys.sign(RSA, new JWTClaimsSet.Builder().issuer(ISSUER).audience(AUDIENCE)
        .subject("u_alice").notBeforeTime(Date.from(START)).expirationTime(Date.from(START.plusSeconds(3600)))
        .build());
    TokenVerifier remembering =
        TokenVerifier.create(TestKeys.settings("", ""), clock, Optional.of(new JWKSet(RSA)));
    TokenVerifier checkingEveryTime = TokenVerifier.create(withCache(TestKeys.settings("", ""), 0), clock,
        Optional.of(new JWKSet(RSA)));
    remembering.verify(token);
    checkingEveryTime.verify(token);

    clock.now = START.minusSeconds(120);

    assertThat(remembering.verify(token).accountId()).isEqualTo("u_alice");
    AuthException refused = catchThrowableOfType(() -> checkingEveryTime.verify(token), AuthException.class);
    assertThat(refused.reason()).isEqualTo(Reason.INVALID);
  }

  private static AuthSettings withCache(AuthSettings settings, int maxEntries) {
    return new AuthSettings(settings.issuer(), settings.audience(), settings.jwksUrl(), settings.publicKeyPem(),
        settings.clockSkew(), settings.devTokensEnabled(), settings.devTokenTtl(), settings.adminToken(),
        new VerifiedTokenCache(maxEntries, settings.verifiedTokens().maxAge()));
  }

  private static Principal principal(String accountId, Instant expiresAt) {
    return new Principal(accountId, expiresAt, Set.of());
  }

  private static final class MovingClock extends Clock {
    private volatile Instant now = START;

    @Override
    public Instant instant() {
      return now;
    }

    @Override
    public ZoneId getZone() {
      return ZoneOffset.UTC;
    }

    @Override
    public Clock withZone(ZoneId zone) {
      return this;
    }
  }
}
