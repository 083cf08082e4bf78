package io.parley.agent.registry;

import io.parley.agent.kms.KeyEncryptionKey;
import java.nio.charset.StandardCharsets;
import java.util.Base64;

/**
 * An agent's shared secret as the registry carries it: wrapped by the key-encryption key under the context
 * {@code "agent-secret:" + agentId}, written {@code <keyId>:<base64 of the wrapped bytes>} (the key id first, so a
 * rotated key can still be told apart; standard base64 holds no ':'). Only the gateway and the CloudEvents
 * endpoint open it, in memory.
 */
public final class AgentSecrets {
  public static final int MIN_CHARS = 32;
  public static final int MAX_CHARS = 512;

  private AgentSecrets() {}

  public static String context(String agentId) {
    return "agent-secret:" + agentId;
  }

  public static String seal(KeyEncryptionKey kek, String agentId, String secret) {
    return join(kek.keyId(), wrap(kek, agentId, secret));
  }

  /** The wrapped secret alone, base64: what the {@code agents} collection keeps beside the key id. */
  static String wrap(KeyEncryptionKey kek, String agentId, String secret) {
    return Base64.getEncoder().encodeToString(kek.wrap(secret.getBytes(StandardCharsets.UTF_8), context(agentId)));
  }

  /**
   * The secret in clear.
   *
   * @throws KeyEncryptionKey.KeyUnwrapException when the value was sealed for another agent, by another key, or
   *     altered
   * @throws IllegalArgumentException when the value is not in the sealed form
   */
  public static String open(KeyEncryptionKey kek, String agentId, String sealed) {
    int colon = sealed.lastIndexOf(':');
    if (colon <= 0) {
      throw new IllegalArgumentException("not a sealed agent secret");
    }
    byte[] wrapped = Base64.getDecoder().decode(sealed.substring(colon + 1));
    return new String(kek.unwrap(wrapped, context(agentId)), StandardCharsets.UTF_8);
  }

  static String join(String keyId, String wrappedBase64) {
    return keyId + ":" + wrappedBase64;
  }
}
