package io.parley.agent;

/**
 * The node's local copy of the agent registry. Routing reads it on every message; it is replaced when the
 * registry singleton distributes a newer snapshot, so a read never waits on another node.
 */
public interface RoutingTable {

  RegistrySnapshot current();

  /** Whether {@code accountId} is an agent's account; asked per message, so implementations keep it cheap. */
  default boolean isAgentAccount(String accountId) {
    return current().byAccount(accountId).isPresent();
  }
}
