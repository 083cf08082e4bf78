package io.parley.agent.routing;

/** The registry snapshot has no agent that routing may pick: none is enabled with an endpoint. */
public final class NoRoutableAgentException extends RuntimeException {

  public NoRoutableAgentException(long registryVersion) {
    super("no routable agent in registry version " + registryVersion, null, false, false);
  }
}
