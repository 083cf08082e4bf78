package io.parley.agent;

import java.net.URI;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * One agent as the registry knows it. {@code accountId} is the agent's account (derived from its id, see
 * {@link AgentAccounts}); {@code sealedSecret} is the agent's shared secret sealed under the key-encryption
 * key (never in clear outside a node's memory); {@code endpoint} is empty for the front door, which the
 * gateway serves itself.
 */
public record AgentSpec(
    String id,
    String displayName,
    Optional<URI> endpoint,
    String description,
    List<String> examples,
    String sealedSecret,
    boolean enabled,
    Source source,
    String accountId) {

  /** Where the registry learnt of the agent. */
  public enum Source { ADMIN, KUBERNETES, BUILT_IN }

  private static final Pattern ID = Pattern.compile("[a-z][a-z0-9-]{1,39}");

  public AgentSpec {
    Objects.requireNonNull(id);
    Objects.requireNonNull(displayName);
    Objects.requireNonNull(endpoint);
    Objects.requireNonNull(description);
    examples = List.copyOf(examples);
    Objects.requireNonNull(sealedSecret);
    Objects.requireNonNull(source);
    Objects.requireNonNull(accountId);
  }

  /** Agent ids: 2 to 40 lower-case letters, digits and '-', starting with a letter. */
  public static boolean isValidId(String id) {
    return id != null && ID.matcher(id).matches();
  }

  /** Whether routing may pick this agent: enabled, and reachable over HTTP. */
  public boolean routable() {
    return enabled && endpoint.isPresent();
  }
}
