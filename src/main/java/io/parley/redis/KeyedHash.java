package io.parley.redis;

import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.util.Base64;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * Names a person in Redis without naming them: an HMAC-SHA256 under the identity pepper of a purpose
 * label and the identifier (an account id, a client address), base64url. The label keeps one purpose's
 * hash from being usable as another's. Thread-safe.
 */
public final class KeyedHash {
  private static final String HMAC = "HmacSHA256";

  private final ThreadLocal<Mac> mac;

  public KeyedHash(byte[] pepper) {
    SecretKeySpec key = new SecretKeySpec(pepper.clone(), HMAC);
    this.mac = ThreadLocal.withInitial(() -> {
      try {
        Mac m = Mac.getInstance(HMAC);
        m.init(key);
        return m;
      } catch (GeneralSecurityException e) {
        throw new IllegalStateException(e);
      }
    });
  }

  public String of(String purpose, String identifier) {
    byte[] digest = mac.get().doFinal((purpose + ":" + identifier).getBytes(StandardCharsets.UTF_8));
    return Base64.getUrlEncoder().withoutPadding().encodeToString(digest);
  }
}
