package io.parley.agent.registry;

import io.parley.agent.AgentSpec;
import java.net.URI;
import java.time.Instant;
import java.util.List;
import java.util.Optional;

/** An agent as the {@code agents} collection holds it: its secret only sealed ({@link AgentSecrets}). */
public record StoredAgent(
    String id,
    String displayName,
    URI endpoint,
    String description,
    List<String> examples,
    String sealedSecret,
    boolean enabled,
    Instant updatedAt) {

  public StoredAgent {
    examples = List.copyOf(examples);
  }

  public AgentSpec toSpec(String accountId) {
    return new AgentSpec(id, displayName, Optional.of(endpoint), description, examples, sealedSecret, enabled,
        AgentSpec.Source.ADMIN, accountId);
  }
}
