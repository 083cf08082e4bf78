package io.parley.agent;

import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.util.Arrays;
import java.util.Base64;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * The account id of an agent: derived from the agent id under the identity pepper, so every node computes
 * the same id without a lookup, and no user handle can map to it (user accounts are random, and a handle
 * never reaches this derivation). The id has the shape of every account id.
 */
public final class AgentAccounts {
  private static final String HMAC = "HmacSHA256";

  private final SecretKeySpec key;

  public AgentAccounts(byte[] pepper) {
    this.key = new SecretKeySpec(pepper.clone(), HMAC);
  }

  public String accountIdOf(String agentId) {
    try {
      Mac mac = Mac.getInstance(HMAC);
      mac.init(key);
      byte[] digest = mac.doFinal(("parley agent account\u0000" + agentId).getBytes(StandardCharsets.UTF_8));
      return "u_" + Base64.getUrlEncoder().withoutPadding().encodeToString(Arrays.copyOf(digest, 16));
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("HMAC-SHA256 unavailable", e);
    }
  }
}
