package io.parley.agent.events;

import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.time.Duration;
import java.time.Instant;
import java.util.HexFormat;
import java.util.Optional;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * The HMAC that authenticates a CloudEvent over HTTP, both ways: {@code X-Parley-Timestamp} carries the
 * signing time in Unix seconds, {@code X-Parley-Signature} carries
 * {@code sha256=<lower-case hex of HMAC-SHA256(secret, timestamp + "." + body)>}. A receiver recomputes
 * it over the raw body bytes and refuses a timestamp more than a few minutes from its clock.
 */
public final class EventSignature {
  private static final String HMAC = "HmacSHA256";
  private static final String PREFIX = "sha256=";
  private static final HexFormat HEX = HexFormat.of();

  private EventSignature() {}

  /** The value of {@code X-Parley-Signature} for this body signed at {@code timestamp} (Unix seconds). */
  public static String sign(byte[] secret, long timestamp, byte[] body) {
    return PREFIX + HEX.formatHex(mac(secret, Long.toString(timestamp), body));
  }

  /**
   * Whether the headers authenticate the body: a well-formed timestamp within {@code maxAge} of {@code now}
   * and a signature that matches (compared in constant time).
   */
  public static boolean verify(byte[] secret, Optional<String> timestampHeader, Optional<String> signatureHeader,
                               byte[] body, Instant now, Duration maxAge) {
    if (timestampHeader.isEmpty() || signatureHeader.isEmpty()) {
      return false;
    }
    String timestamp = timestampHeader.get().strip();
    long seconds;
    try {
      seconds = Long.parseLong(timestamp);
    } catch (NumberFormatException e) {
      return false;
    }
    if (Math.abs(now.getEpochSecond() - seconds) > maxAge.toSeconds()) {
      return false;
    }
    String signature = signatureHeader.get().strip();
    if (!signature.regionMatches(true, 0, PREFIX, 0, PREFIX.length())) {
      return false;
    }
    byte[] given;
    try {
      given = HEX.parseHex(signature.substring(PREFIX.length()));
    } catch (IllegalArgumentException e) {
      return false;
    }
    return MessageDigest.isEqual(given, mac(secret, timestamp, body));
  }

  /** Constant-time comparison of a bearer token with the agent's secret. */
  public static boolean bearerMatches(byte[] secret, String token) {
    return MessageDigest.isEqual(secret, token.getBytes(StandardCharsets.UTF_8));
  }

  private static byte[] mac(byte[] secret, String timestamp, byte[] body) {
    try {
      Mac mac = Mac.getInstance(HMAC);
      mac.init(new SecretKeySpec(secret, HMAC));
      mac.update(timestamp.getBytes(StandardCharsets.US_ASCII));
      mac.update((byte) '.');
      return mac.doFinal(body);
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("HMAC-SHA256 unavailable", e);
    }
  }
}
