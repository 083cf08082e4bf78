package io.parley.gateway;

import static io.parley.gateway.BadInputAssertions.assertAlive;
import static io.parley.gateway.BadInputAssertions.assertClosedWith;
import static io.parley.gateway.BadInputAssertions.assertEchoes;
import static io.parley.gateway.BadInputAssertions.nextError;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.nimbusds.jose.JOSEException;
import com.nimbusds.jose.JOSEObjectType;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.JWSSigner;
import com.nimbusds.jose.crypto.ECDSASigner;
import com.nimbusds.jose.crypto.MACSigner;
import com.nimbusds.jose.jwk.Curve;
import com.nimbusds.jose.jwk.ECKey;
import com.nimbusds.jose.jwk.gen.ECKeyGenerator;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.SignedJWT;
import io.parley.protocol.ClientFrame;
import io.parley.testing.Chat;
import io.parley.testing.NodeExtension;
import io.parley.testing.WsClient;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.time.Instant;
import java.util.Base64;
import java.util.Date;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletionException;
import java.util.function.UnaryOperator;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * A node configured as in production: tokens from an identity provider whose public key it is given, no
 * dev tokens, and a short hello timeout. Every unusable credential is refused with its documented code and
 * the WebSocket closed with 4003, or HTTP 401 with a Bearer challenge.
 */
class BadCredentialsTest {
  private static final String ISSUER = "https://id.parley.test";
  private static final String AUDIENCE = "parley";
  // short, yet long enough for a few frames to be answered before it on a busy machine
  private static final Duration HELLO_TIMEOUT = Duration.ofSeconds(2);
  private static final ECKey PROVIDER = ecKey("provider");
  private static final ECKey IMPOSTOR = ecKey("provider");
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final HttpClient HTTP = HttpClient.newHttpClient();

  @RegisterExtension
  static final NodeExtension parley = new NodeExtension(Map.of(
        "parley.auth.dev-tokens.enabled", false,
        "parley.auth.issuer", ISSUER,
        "parley.auth.audience", AUDIENCE,
        "parley.auth.public-key-pem", pem(PROVIDER),
        "parley.session.hello-timeout", HELLO_TIMEOUT.toMillis() + "ms"));

  // ---- tokens ----

  private static String accountId() {
    return "u_" + UUID.randomUUID().toString().replace("-", "").substring(0, 22);
  }

  private static JWTClaimsSet.Builder claims() {
    Instant now = Instant.now();
    return new JWTClaimsSet.Builder().issuer(ISSUER).audience(AUDIENCE).subject(accountId())
        .issueTime(Date.from(now)).expirationTime(Date.from(now.plus(Duration.ofHours(1))));
  }

  private static String token(ECKey key, UnaryOperator<JWTClaimsSet.Builder> claims) {
    try {
      return sign(new ECDSASigner(key), JWSAlgorithm.ES256, key.getKeyID(), claims.apply(claims()).build());
    } catch (JOSEException e) {
      throw new IllegalStateException(e);
    }
  }

  private static String validToken() {
    return token(PROVIDER, c -> c);
  }

  private static String sign(JWSSigner signer, JWSAlgorithm algorithm, String keyId, JWTClaimsSet claims) {
    try {
      SignedJWT jwt = new SignedJWT(new JWSHeader.Builder(algorithm).keyID(keyId).type(JOSEObjectType.JWT).build(),
          claims);
      jwt.sign(signer);
      return jwt.serialize();
    } catch (JOSEException e) {
      throw new IllegalStateException(e);
    }
  }

  /** Every way a hello's credentials can be unusable, with the code the client must get. */
  static Stream<Arguments> unusableHellos() throws JOSEException {
    Instant past = Instant.now().minus(Duration.ofHours(2));
    String valid = validToken();
    String[] parts = valid.split("\\.");
    String unsignedHeader = Base64.getUrlEncoder().withoutPadding()
        .encodeToString("{\"alg\":\"none\",\"typ\":\"JWT\"}".getBytes());
    return Stream.of(
        Arguments.of("no token", "{\"type\":\"hello\",\"device\":1}", "unauthenticated"),
        Arguments.of("an empty token", hello(""), "unauthenticated"),
        Arguments.of("a blank token", hello("   "), "unauthenticated"),
        Arguments.of("garbage", hello("garbage"), "token_invalid"),
        Arguments.of("three dots of garbage", hello("a.b.c"), "token_invalid"),
        Arguments.of("an oversized token", hello("x".repeat(9000)), "token_invalid"),
        Arguments.of("an expired token", hello(token(PROVIDER, c -> c.issueTime(Date.from(past))
            .expirationTime(Date.from(past.plus(Duration.ofHours(1)))))), "token_expired"),
        Arguments.of("a token signed by another key under the same key id", hello(token(IMPOSTOR, c -> c)),
            "token_invalid"),
        Arguments.of("a token with another token's signature",
            hello(parts[0] + "." + validToken().split("\\.")[1] + "." + parts[2]), "token_invalid"),
        Arguments.of("an unsigned token", hello(unsignedHeader + "." + parts[1] + "."), "token_invalid"),
        Arguments.of("an HMAC token keyed with the public key",
            hello(sign(new MACSigner(PROVIDER.toPublicJWK().toECPublicKey().getEncoded()), JWSAlgorithm.HS256,
                PROVIDER.getKeyID(), claims().build())), "token_invalid"),
        Arguments.of("a token for another audience", hello(token(PROVIDER, c -> c.audience("someone-else"))),
            "token_invalid"),
        Arguments.of("a token from another issuer", hello(token(PROVIDER, c -> c.issuer("https://evil.test"))),
            "token_invalid"),
        Arguments.of("a token not valid yet", hello(token(PROVIDER, c -> c.notBeforeTime(
            Date.from(Instant.now().plus(Duration.ofMinutes(10)))))), "token_invalid"),
        Arguments.of("a token without a subject", hello(token(PROVIDER, c -> c.subject(null))), "token_invalid"),
        Arguments.of("a token without an expiry", hello(token(PROVIDER, c -> c.expirationTime(null))),
            "token_invalid"));
  }

  private static String hello(String token) {
    return "{\"type\":\"hello\",\"token\":" + quote(token) + ",\"device\":1}";
  }

  // ---- WebSocket ----

  @ParameterizedTest(name = "{0}")
  @MethodSource("unusableHellos")
  void aHelloWithUnusableCredentialsIsRefusedAndClosedWith4003(String what, String hello, String code) {
    try (WsClient client = WsClient.connect(parley.port())) {
      client.sendRaw(hello);
      assertEchoes(nextError(client, code), null, null, null);
      assertClosedWith(client, Connection.CLOSE_UNAUTHORIZED);
    }
  }

  @Test
  void aRefusedHelloEndsTheConnectionSoNothingMoreIsRead() {
    try (WsClient client = WsClient.connect(parley.port())) {
      client.sendRaw(hello("garbage"));
      try {
        client.send(new ClientFrame.Ping("after the refusal"));
      } catch (CompletionException closedFirst) {
        // the node closed the socket before the ping went out: nothing more was read either
      }
      nextError(client, "token_invalid");
      assertClosedWith(client, Connection.CLOSE_UNAUTHORIZED);
      assertThat(client.poll(Duration.ofMillis(200))).as("no pong after the close frame").isNull();
    }
  }

  @Test
  void aConnectionWithoutHelloIsAnsweredUntilTheHelloTimeoutClosesItWith4001() {
    long start = System.nanoTime();
    try (WsClient client = WsClient.connect(parley.port())) {
      client.send(new ClientFrame.Create("early", Chat.newConversationId(), List.of(accountId())));
      nextError(client, "hello_required");
      client.sendRaw("{\"type\":\"hello\",\"token\":\"" + validToken() + "\",\"device\":0}");
      nextError(client, "invalid_request");
      assertAlive(client);

      nextError(client, "hello_required");
      assertClosedWith(client, Connection.CLOSE_HELLO_TIMEOUT);
      assertThat(Duration.ofNanos(System.nanoTime() - start))
          .as("closed by the timeout, not by the frames before it").isGreaterThanOrEqualTo(HELLO_TIMEOUT.dividedBy(2));
    }
  }

  @Test
  void aSilentConnectionIsClosedWith4001() {
    try (WsClient client = WsClient.connect(parley.port())) {
      nextError(client, "hello_required");
      assertClosedWith(client, Connection.CLOSE_HELLO_TIMEOUT);
    }
  }

  // ---- HTTP ----

  private HttpResponse<String> lookup(String handle, String token) throws Exception {
    HttpRequest.Builder request = HttpRequest.newBuilder(
        URI.create("http://127.0.0.1:" + parley.port() + "/v1/accounts/lookup?handle=" + handle)).GET();
    if (token != null) {
      request.header("Authorization", "Bearer " + token);
    }
    return HTTP.send(request.build(), HttpResponse.BodyHandlers.ofString());
  }

  private static JsonNode body(HttpResponse<String> response) throws Exception {
    return JSON.readTree(response.body());
  }

  @Test
  void aLookupWithUnusableCredentialsIsUnauthorizedWithABearerChallenge() throws Exception {
    Instant past = Instant.now().minus(Duration.ofHours(2));
    Map<String, String> expected = Map.of(
        "", "unauthenticated",
        "garbage", "token_invalid",
        token(IMPOSTOR, c -> c), "token_invalid",
        token(PROVIDER, c -> c.audience("someone-else")), "token_invalid",
        token(PROVIDER, c -> c.issueTime(Date.from(past)).expirationTime(Date.from(past.plus(Duration.ofHours(1))))),
        "token_expired");
    for (Map.Entry<String, String> entry : expected.entrySet()) {
      HttpResponse<String> response = lookup("alice", entry.getKey().isEmpty() ? null : entry.getKey());
      assertThat(response.statusCode()).isEqualTo(401);
      assertThat(response.headers().firstValue("WWW-Authenticate")).hasValueSatisfying(
          challenge -> assertThat(challenge).startsWith("Bearer"));
      assertThat(body(response).path("error").asText()).isEqualTo(entry.getValue());
    }

    HttpResponse<String> genuine = lookup("alice", validToken());
    assertThat(genuine.statusCode()).as("the provider's genuine token is accepted").isEqualTo(404);
    assertThat(body(genuine).path("error").asText()).isEqualTo("unknown_handle");
    HttpResponse<String> invalid = lookup("a%2Fb", validToken());
    assertThat(invalid.statusCode()).isEqualTo(400);
    assertThat(body(invalid).path("error").asText()).isEqualTo("invalid_handle");
  }

  @Test
  void theDevTokenEndpointDoesNotExistWhenDevTokensAreOff() throws Exception {
    HttpResponse<String> response = HTTP.send(HttpRequest.newBuilder(
            URI.create("http://127.0.0.1:" + parley.port() + "/v1/dev/token"))
        .POST(HttpRequest.BodyPublishers.ofString("{\"handle\":\"alice\"}"))
        .header("Content-Type", "application/json").build(), HttpResponse.BodyHandlers.ofString());
    assertThat(response.statusCode()).isEqualTo(404);
    assertThat(body(response).path("error").asText()).isEqualTo("not_found");
    assertThat(body(response).has("token")).isFalse();
  }

  // ---- helpers ----

  private static ECKey ecKey(String keyId) {
    try {
      return new ECKeyGenerator(Curve.P_256).keyID(keyId).generate();
    } catch (JOSEException e) {
      throw new IllegalStateException(e);
    }
  }

  private static String pem(ECKey key) {
    try {
      return "-----BEGIN PUBLIC KEY-----\n"
          + Base64.getMimeEncoder(64, "\n".getBytes()).encodeToString(key.toECPublicKey().getEncoded())
          + "\n-----END PUBLIC KEY-----\n";
    } catch (JOSEException e) {
      throw new IllegalStateException(e);
    }
  }

  private static String quote(String text) {
    try {
      return JSON.writeValueAsString(text);
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }
}
