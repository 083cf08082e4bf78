package io.parley.agent.registry;

/** An agent registration that the registry refuses; the message says what to change and never quotes a secret. */
public final class InvalidAgentException extends RuntimeException {

  public InvalidAgentException(String message) {
    super(message, null, false, false);
  }
}
