package io.parley.auth;

import static io.parley.auth.TestKeys.AUDIENCE;
import static io.parley.auth.TestKeys.ISSUER;
import static io.parley.auth.TestKeys.settings;
import static io.parley.auth.TestKeys.sign;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import com.nimbusds.jose.JOSEException;
import com.nimbusds.jose.JOSEObjectType;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.crypto.MACSigner;
import com.nimbusds.jose.crypto.RSASSASigner;
import com.nimbusds.jose.jwk.ECKey;
import com.nimbusds.jose.jwk.JWKSet;
import com.nimbusds.jose.jwk.RSAKey;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.PlainJWT;
import com.nimbusds.jwt.SignedJWT;
import com.sun.net.httpserver.HttpServer;
import io.parley.auth.AuthException.Reason;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.Date;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class TokenVerifierTest {

  private static final Instant NOW = Instant.parse("2030-01-01T12:00:00Z");
  private static final Clock CLOCK = Clock.fixed(NOW, ZoneOffset.UTC);
  private static final RSAKey RSA = TestKeys.rsa("rsa-1");
  private static final ECKey EC = TestKeys.ec("ec-1");

  private final TokenVerifier verifier =
      TokenVerifier.create(settings("", ""), CLOCK, Optional.of(new JWKSet(List.of(RSA, EC))));
  private HttpServer jwksServer;

  @AfterEach
  void stopJwksServer() {
    if (jwksServer != null) {
      jwksServer.stop(0);
    }
  }

  @Test
  void acceptsAValidRs256Token() throws AuthException {
    Principal principal = verifier.verify(sign(RSA, claims().claim("roles", List.of("admin")).build()));

    assertThat(principal.accountId()).isEqualTo("u_alice");
    assertThat(principal.expiresAt()).isEqualTo(NOW.plusSeconds(3600));
    assertThat(principal.roles()).containsExactly("admin");
  }

  @Test
  void acceptsAValidEs256Token() throws AuthException {
    Principal principal = verifier.verify(sign(EC, claims().build()));

    assertThat(principal.accountId()).isEqualTo("u_alice");
    assertThat(principal.roles()).isEmpty();
  }

  @Test
  void acceptsAccessTokenTypesAndRejectsOthers() throws JOSEException, AuthException {
    assertThat(verifier.verify(signTyped("at+jwt")).accountId()).isEqualTo("u_alice");
    assertThat(verifier.verify(signTyped(null)).accountId()).isEqualTo("u_alice");
    assertRejected(signTyped("logout+jwt"), Reason.INVALID);
  }

  @Test
  void rejectsAnExpiredToken() {
    String token = sign(RSA, claims().expirationTime(at(-31)).build());

    assertRejected(token, Reason.EXPIRED);
  }

  @Test
  void toleratesExpiryWithinTheClockSkew() throws AuthException {
    assertThat(verifier.verify(sign(RSA, claims().expirationTime(at(-29)).build())).accountId()).isEqualTo("u_alice");
  }

  @Test
  void rejectsATokenNotYetValid() {
    assertRejected(sign(RSA, claims().notBeforeTime(at(300)).build()), Reason.INVALID);
  }

  @Test
  void rejectsAWrongAudience() {
    assertRejected(sign(RSA, claims().audience("someone-else").build()), Reason.INVALID);
  }

  @Test
  void rejectsAWrongIssuer() {
    assertRejected(sign(RSA, claims().issuer("https://evil.test").build()), Reason.INVALID);
  }

  @Test
  void rejectsASignatureByAnotherKeyClaimingAKnownKeyId() {
    assertRejected(sign(TestKeys.rsa("rsa-1"), claims().build()), Reason.INVALID);
    assertRejected(sign(TestKeys.ec("ec-1"), claims().build()), Reason.INVALID);
    assertRejected(sign(TestKeys.rsa(null), claims().build()), Reason.INVALID);
  }

  @Test
  void rejectsAnUnsignedToken() {
    assertRejected(new PlainJWT(claims().build()).serialize(), Reason.INVALID);
    // "alg": "none" with a signature part left in place
    String signed = sign(RSA, claims().build());
    String noneHeader = java.util.Base64.getUrlEncoder().withoutPadding()
        .encodeToString("{\"alg\":\"none\",\"typ\":\"JWT\"}".getBytes(StandardCharsets.UTF_8));
    assertRejected(noneHeader + signed.substring(signed.indexOf('.')), Reason.INVALID);
  }

  @Test
  void rejectsHs256SignedWithThePublicKey() throws JOSEException {
    // the algorithm-confusion attack: an HMAC keyed with the verifier's public key
    SignedJWT jwt = new SignedJWT(new JWSHeader(JWSAlgorithm.HS256), claims().build());
    jwt.sign(new MACSigner(RSA.toPublicJWK().toRSAPublicKey().getEncoded()));

    assertRejected(jwt.serialize(), Reason.INVALID);
  }

  @Test
  void rejectsGarbage() {
    assertRejected("not-a-token", Reason.INVALID);
    assertRejected("a.b.c", Reason.INVALID);
    assertRejected("x".repeat(10_000), Reason.INVALID);
  }

  @Test
  void reportsAMissingToken() {
    assertRejected(null, Reason.MISSING);
    assertRejected("  ", Reason.MISSING);
  }

  @Test
  void rejectsATokenWithoutSubject() {
    assertRejected(sign(RSA, claims().subject(null).build()), Reason.INVALID);
    assertRejected(sign(RSA, claims().subject(" ").build()), Reason.INVALID);
  }

  @Test
  void rejectsATokenWithoutExpiry() {
    assertRejected(sign(RSA, claims().expirationTime(null).build()), Reason.INVALID);
  }

  @Test
  void rejectsRolesThatAreNotStrings() {
    assertRejected(sign(RSA, claims().claim("roles", "admin").build()), Reason.INVALID);
  }

  @Test
  void verifiesWithPemPublicKeysWhateverKeyIdTheTokenNames() throws Exception {
    RSAKey rsa = TestKeys.rsa("issuer-kid-7");
    ECKey ec = TestKeys.ec("issuer-kid-8");
    // an environment variable often carries the PEM with literal \n
    String pem = TestKeys.pem(rsa.toRSAPublicKey()) + TestKeys.pem(ec.toECPublicKey()).replace("\n", "\\n");
    TokenVerifier pemVerifier = TokenVerifier.create(settings("", pem), CLOCK, Optional.empty());

    assertThat(pemVerifier.verify(sign(rsa, claims().build())).accountId()).isEqualTo("u_alice");
    assertThat(pemVerifier.verify(sign(ec, claims().build())).accountId()).isEqualTo("u_alice");
    assertRejected(pemVerifier, sign(RSA, claims().build()), Reason.INVALID);
  }

  @Test
  void rejectsUnusablePem() throws JOSEException {
    assertThatThrownBy(() -> TokenVerifier.create(settings("", "hello"), CLOCK, Optional.empty()))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("public-key-pem");
    String weak = TestKeys.pem(new com.nimbusds.jose.jwk.gen.RSAKeyGenerator(1024, true).generate().toRSAPublicKey());
    assertThatThrownBy(() -> TokenVerifier.create(settings("", weak), CLOCK, Optional.empty()))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("2048");
  }

  @Test
  void verifiesWithKeysFromAJwksUrlAndCachesThem() throws Exception {
    RSAKey remote = TestKeys.rsa("remote-1");
    AtomicInteger fetches = new AtomicInteger();
    String url = serveJwks(new JWKSet(remote).toPublicJWKSet(), fetches);
    TokenVerifier remoteVerifier = TokenVerifier.create(settings(url, ""), CLOCK, Optional.empty());

    assertThat(remoteVerifier.verify(sign(remote, claims().build())).accountId()).isEqualTo("u_alice");
    assertThat(remoteVerifier.verify(sign(remote, claims().subject("u_bob").build())).accountId()).isEqualTo("u_bob");
    assertThat(fetches).hasValue(1);
    assertRejected(remoteVerifier, sign(TestKeys.rsa("remote-1"), claims().build()), Reason.INVALID);
  }

  @Test
  void combinesLocalPemAndRemoteKeys() throws Exception {
    RSAKey remote = TestKeys.rsa("remote-1");
    ECKey pemKey = TestKeys.ec("pem-1");
    String url = serveJwks(new JWKSet(remote).toPublicJWKSet(), new AtomicInteger());
    TokenVerifier all = TokenVerifier.create(
        settings(url, TestKeys.pem(pemKey.toECPublicKey())), CLOCK, Optional.of(new JWKSet(EC)));

    for (var key : List.of(remote, pemKey, EC)) {
      assertThat(all.verify(sign(key, claims().build())).accountId()).isEqualTo("u_alice");
    }
  }

  @Test
  void rejectsWhenTheJwksUrlIsUnreachable() throws Exception {
    RSAKey remote = TestKeys.rsa("remote-1");
    String url = serveJwks(new JWKSet(remote).toPublicJWKSet(), new AtomicInteger());
    jwksServer.stop(0);
    jwksServer = null;
    TokenVerifier remoteVerifier = TokenVerifier.create(settings(url, ""), CLOCK, Optional.empty());

    assertRejected(remoteVerifier, sign(remote, claims().build()), Reason.INVALID);
  }

  @Test
  void refusesToStartWithoutAnyKey() {
    assertThatThrownBy(() -> TokenVerifier.create(settings("", ""), CLOCK, Optional.empty()))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("jwks-url")
        .hasMessageContaining("public-key-pem");
  }

  private JWTClaimsSet.Builder claims() {
    return new JWTClaimsSet.Builder()
        .issuer(ISSUER)
        .audience(AUDIENCE)
        .subject("u_alice")
        .issueTime(Date.from(NOW))
        .expirationTime(at(3600));
  }

  private String signTyped(String type) throws JOSEException {
    SignedJWT jwt = new SignedJWT(new JWSHeader.Builder(JWSAlgorithm.RS256).keyID(RSA.getKeyID())
        .type(type == null ? null : new JOSEObjectType(type)).build(), claims().build());
    jwt.sign(new RSASSASigner(RSA));
    return jwt.serialize();
  }

  private static Date at(long secondsFromNow) {
    return Date.from(NOW.plusSeconds(secondsFromNow));
  }

  private void assertRejected(String token, Reason reason) {
    assertRejected(verifier, token, reason);
  }

  private static void assertRejected(TokenVerifier verifier, String token, Reason reason) {
    AuthException e = catchThrowableOfType(AuthException.class, () -> verifier.verify(token));
    assertThat(e).as("token should be rejected").isNotNull();
    assertThat(e.reason()).isEqualTo(reason);
    if (token != null && !token.isBlank()) {
      assertThat(e.getMessage()).doesNotContain(token);
    }
  }

  private String serveJwks(JWKSet keys, AtomicInteger fetches) throws IOException {
    jwksServer = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
    byte[] body = keys.toString().getBytes(StandardCharsets.UTF_8);
    jwksServer.createContext("/.well-known/jwks.json", exchange -> {
      fetches.incrementAndGet();
      exchange.getResponseHeaders().set("Content-Type", "application/json");
      exchange.sendResponseHeaders(200, body.length);
      try (OutputStream out = exchange.getResponseBody()) {
        out.write(body);
      }
    });
    jwksServer.start();
    return "http://127.0.0.1:" + jwksServer.getAddress().getPort() + "/.well-known/jwks.json";
  }
}
