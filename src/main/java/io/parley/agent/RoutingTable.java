package io.parley.agent;

/**
 * The node's local copy of the agent registry. Routing reads it on every message; it is replaced when the
 * registry singleton distributes a newer snapshot, so a read never waits on another node.
 */
public interface RoutingTable {

  RegistrySnapshot current();
}
