package io.parley.agent.gateway;

import io.parley.agent.events.AgentDispatcher.AvailabilityListener;
import io.parley.agent.events.AgentDispatcher;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArraySet;

/** Passes the dispatcher's availability changes on to the agent endpoints living on this node. */
public final class AgentAvailability {
  private final Set<AvailabilityListener> listeners = new CopyOnWriteArraySet<>();

  public AgentAvailability(AgentDispatcher dispatcher) {
    dispatcher.onAvailabilityChange((agent, available) -> listeners.forEach(l -> l.changed(agent, available)));
  }

  public Runnable subscribe(AvailabilityListener listener) {
    listeners.add(listener);
    return () -> listeners.remove(listener);
  }
}
