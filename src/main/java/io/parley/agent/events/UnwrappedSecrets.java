package io.parley.agent.events;

import io.parley.agent.AgentSpec;
import io.parley.agent.kms.KeyEncryptionKey;
import io.parley.agent.registry.AgentSecrets;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The agents' shared secrets in clear, unwrapped from {@link AgentSpec#sealedSecret()} by the key-encryption
 * key once per agent and sealed value (a changed secret is a new sealed value, so it is unwrapped again).
 * A secret is the UTF-8 bytes of the string the agent's operator chose: the HMAC key, and what a bearer
 * token is compared with. Thread-safe.
 */
public final class UnwrappedSecrets {
  private final KeyEncryptionKey kek;
  private final Map<String, Unwrapped> cache = new ConcurrentHashMap<>();

  public UnwrappedSecrets(KeyEncryptionKey kek) {
    this.kek = kek;
  }

  /**
   * The agent's secret in clear.
   *
   * @throws KeyEncryptionKey.KeyUnwrapException when the sealed secret does not open under this key
   */
  public byte[] secretOf(AgentSpec agent) {
    Unwrapped cached = cache.get(agent.id());
    if (cached != null && cached.sealed().equals(agent.sealedSecret())) {
      return cached.secret();
    }
    byte[] secret;
    try {
      secret = AgentSecrets.open(kek, agent.id(), agent.sealedSecret())
          .getBytes(StandardCharsets.UTF_8);
    } catch (IllegalArgumentException e) {
      throw new KeyEncryptionKey.KeyUnwrapException("the sealed secret of agent " + agent.id() + " is malformed", e);
    }
    cache.put(agent.id(), new Unwrapped(agent.sealedSecret(), secret));
    return secret;
  }

  private record Unwrapped(String sealed, byte[] secret) {}
}
