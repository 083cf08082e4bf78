package io.parley.agent.registry;

import io.parley.agent.AgentSpec;
import java.net.URI;
import java.net.URISyntaxException;
import java.util.List;
import java.util.Optional;

/**
 * What an operator (or a Kubernetes Service's annotations) says about an agent, checked: the same rules for
 * both. {@code secret} is in clear here and only here; it is absent on an update that keeps the stored one.
 */
public record AgentRegistration(
    String displayName,
    URI endpoint,
    String description,
    List<String> examples,
    Optional<String> secret,
    boolean enabled) {

  public static final int MAX_DISPLAY_NAME = 80;
  public static final int MAX_ENDPOINT = 2048;
  public static final int MAX_DESCRIPTION = 2000;
  public static final int MAX_EXAMPLES = 200;
  public static final int MAX_EXAMPLE = 300;

  public AgentRegistration {
    examples = List.copyOf(examples);
  }

  /**
   * Checks every field and returns the registration with its text stripped.
   *
   * @throws InvalidAgentException naming the first field that is wrong
   */
  public static AgentRegistration of(String id, String displayName, String endpoint, String description,
                                     List<String> examples, Optional<String> secret, boolean enabled) {
    checkId(id);
    String name = displayName == null ? "" : displayName.strip();
    if (name.isEmpty() || name.length() > MAX_DISPLAY_NAME || hasControl(name)) {
      throw new InvalidAgentException("displayName must be 1 to " + MAX_DISPLAY_NAME
          + " characters without control characters");
    }
    URI uri = endpoint(endpoint);
    String about = description == null ? "" : description.strip();
    if (about.length() > MAX_DESCRIPTION) {
      throw new InvalidAgentException("description must be at most " + MAX_DESCRIPTION + " characters");
    }
    if (examples == null) {
      examples = List.of();
    }
    if (examples.size() > MAX_EXAMPLES) {
      throw new InvalidAgentException("at most " + MAX_EXAMPLES + " example utterances");
    }
    List<String> lines = examples.stream().map(e -> e == null ? "" : e.strip()).toList();
    for (int i = 0; i < lines.size(); i++) {
      String line = lines.get(i);
      if (line.isEmpty() || line.length() > MAX_EXAMPLE || hasControl(line)) {
        throw new InvalidAgentException("examples[" + i + "] must be one line of 1 to " + MAX_EXAMPLE + " characters");
      }
    }
    secret.ifPresent(AgentRegistration::checkSecret);
    return new AgentRegistration(name, uri, about, lines, secret, enabled);
  }

  public static void checkId(String id) {
    if (!AgentSpec.isValidId(id)) {
      throw new InvalidAgentException(
          "agent id must be 2 to 40 lower-case letters, digits and '-', starting with a letter");
    }
  }

  private static URI endpoint(String endpoint) {
    String message = "endpoint must be an absolute http or https URL with a host, without user info or fragment, "
        + "at most " + MAX_ENDPOINT + " characters";
    if (endpoint == null || endpoint.isBlank() || endpoint.length() > MAX_ENDPOINT) {
      throw new InvalidAgentException(message);
    }
    URI uri;
    try {
      uri = new URI(endpoint.strip());
    } catch (URISyntaxException e) {
      throw new InvalidAgentException(message);
    }
    String scheme = uri.getScheme() == null ? "" : uri.getScheme().toLowerCase(java.util.Locale.ROOT);
    boolean ok = (scheme.equals("http") || scheme.equals("https")) && uri.getHost() != null
        && uri.getRawUserInfo() == null && uri.getRawFragment() == null;
    if (!ok) {
      throw new InvalidAgentException(message);
    }
    return uri;
  }

  private static void checkSecret(String secret) {
    if (secret.length() < AgentSecrets.MIN_CHARS || secret.length() > AgentSecrets.MAX_CHARS
        || !secret.chars().allMatch(c -> c > 0x20 && c < 0x7f)) {
      throw new InvalidAgentException("secret must be " + AgentSecrets.MIN_CHARS + " to " + AgentSecrets.MAX_CHARS
          + " printable ASCII characters without spaces (e.g. openssl rand -base64 32)");
    }
  }

  private static boolean hasControl(String s) {
    return s.chars().anyMatch(Character::isISOControl);
  }
}
