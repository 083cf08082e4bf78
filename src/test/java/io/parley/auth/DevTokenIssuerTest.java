package io.parley.auth;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jwt.SignedJWT;
import io.parley.auth.AuthException.Reason;
import io.parley.config.ParleySettings.AuthSettings;
import io.parley.config.ParleySettings.VerifiedTokenCache;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class DevTokenIssuerTest {

  private static final Instant NOW = Instant.parse("2030-01-01T12:00:00Z");
  private static final Clock CLOCK = Clock.fixed(NOW, ZoneOffset.UTC);
  private static final AuthSettings SETTINGS = TestKeys.settings("", "");

  @TempDir Path dataDir;
  @TempDir Path otherDataDir;

  @Test
  void issuedTokenVerifies() throws Exception {
    DevTokenIssuer issuer = DevTokenIssuer.loadOrCreate(dataDir, SETTINGS, CLOCK);
    String token = issuer.issue("u_AAAAAAAAAAAAAAAAAAAAAA");

    Principal principal = verifierFor(issuer, CLOCK).verify(token);

    assertThat(principal.accountId()).isEqualTo("u_AAAAAAAAAAAAAAAAAAAAAA");
    assertThat(principal.expiresAt()).isEqualTo(NOW.plus(SETTINGS.devTokenTtl()));
    SignedJWT jwt = SignedJWT.parse(token);
    assertThat(jwt.getJWTClaimsSet().getIssuer()).isEqualTo(TestKeys.ISSUER);
    assertThat(jwt.getJWTClaimsSet().getAudience()).containsExactly(TestKeys.AUDIENCE);
    assertThat(jwt.getJWTClaimsSet().getIssueTime().toInstant()).isEqualTo(NOW);
    assertThat(jwt.getHeader().getKeyID()).isEqualTo(issuer.publicKeys().getKeys().get(0).getKeyID());
    assertThat(jwt.getHeader().getAlgorithm()).isEqualTo(JWSAlgorithm.RS256);
  }

  @Test
  void aP256KeyOfAnEarlierVersionKeepsSigning() throws Exception {
    Files.writeString(dataDir.resolve(DevTokenIssuer.KEY_FILE), TestKeys.ec("earlier").toJSONString());

    DevTokenIssuer issuer = DevTokenIssuer.loadOrCreate(dataDir, SETTINGS, CLOCK);
    String token = issuer.issue("u_AAAAAAAAAAAAAAAAAAAAAA");

    assertThat(SignedJWT.parse(token).getHeader().getAlgorithm()).isEqualTo(JWSAlgorithm.ES256);
    assertThat(verifierFor(issuer, CLOCK).verify(token).accountId()).isEqualTo("u_AAAAAAAAAAAAAAAAAAAAAA");
  }

  @Test
  void refusesAKeyFileWithOnlyAPublicKey() throws Exception {
    Files.writeString(dataDir.resolve(DevTokenIssuer.KEY_FILE), TestKeys.rsa("public").toPublicJWK().toJSONString());

    assertThatThrownBy(() -> DevTokenIssuer.loadOrCreate(dataDir, SETTINGS, CLOCK))
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("private");
  }

  @Test
  void issuedTokenExpiresAfterTheTtl() {
    DevTokenIssuer issuer = DevTokenIssuer.loadOrCreate(dataDir, SETTINGS, CLOCK);
    String token = issuer.issue("u_AAAAAAAAAAAAAAAAAAAAAA");
    Clock later = Clock.offset(CLOCK, SETTINGS.devTokenTtl().plus(SETTINGS.clockSkew()).plusSeconds(1));

    AuthException e = catchThrowableOfType(AuthException.class, () -> verifierFor(issuer, later).verify(token));

    assertThat(e.reason()).isEqualTo(Reason.EXPIRED);
  }

  @Test
  void keySurvivesAReloadFromTheSameDirectory() throws Exception {
    String token = DevTokenIssuer.loadOrCreate(dataDir, SETTINGS, CLOCK).issue("u_AAAAAAAAAAAAAAAAAAAAAA");

    DevTokenIssuer reloaded = DevTokenIssuer.loadOrCreate(dataDir, SETTINGS, CLOCK);

    assertThat(verifierFor(reloaded, CLOCK).verify(token).accountId()).isEqualTo("u_AAAAAAAAAAAAAAAAAAAAAA");
    assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(dataDir.resolve(DevTokenIssuer.KEY_FILE))))
        .isEqualTo("rw-------");
    assertThat(reloaded.publicKeys().getKeys()).noneMatch(key -> key.isPrivate());
  }

  @Test
  void tokenOfAnotherDirectoryIsRejected() {
    String token = DevTokenIssuer.loadOrCreate(dataDir, SETTINGS, CLOCK).issue("u_AAAAAAAAAAAAAAAAAAAAAA");
    DevTokenIssuer other = DevTokenIssuer.loadOrCreate(otherDataDir, SETTINGS, CLOCK);

    AuthException e = catchThrowableOfType(AuthException.class, () -> verifierFor(other, CLOCK).verify(token));

    assertThat(e.reason()).isEqualTo(Reason.INVALID);
  }

  @Test
  void refusesWhenDevTokensAreDisabled() {
    AuthSettings disabled = new AuthSettings(TestKeys.ISSUER, TestKeys.AUDIENCE, "", "", Duration.ofSeconds(30),
        false, Duration.ofHours(1), "", new VerifiedTokenCache(0, Duration.ZERO));

    assertThatThrownBy(() -> DevTokenIssuer.loadOrCreate(dataDir, disabled, CLOCK))
        .isInstanceOf(IllegalStateException.class);
    assertThat(dataDir.resolve(DevTokenIssuer.KEY_FILE)).doesNotExist();
  }

  @Test
  void refusesABlankAccountId() {
    DevTokenIssuer issuer = DevTokenIssuer.loadOrCreate(dataDir, SETTINGS, CLOCK);

    assertThatThrownBy(() -> issuer.issue(" ")).isInstanceOf(IllegalArgumentException.class);
  }

  private static TokenVerifier verifierFor(DevTokenIssuer issuer, Clock clock) {
    return TokenVerifier.create(SETTINGS, clock, Optional.of(issuer.publicKeys()));
  }
}
