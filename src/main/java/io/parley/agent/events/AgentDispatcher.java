package io.parley.agent.events;

import io.parley.agent.AgentSpec;
import java.util.concurrent.CompletionStage;

/**
 * CloudEvents out. {@link #deliver} POSTs a message to its agent and retries with exponential backoff
 * until the agent accepts it: the stage completes when the agent has answered 2xx, or fails with
 * {@link AgentRejectedException} when the agent refused the event for good (a 4xx other than 408/429).
 * Timeouts, circuit breaker and concurrency are per agent. Thread-safe.
 */
public interface AgentDispatcher {

  CompletionStage<Void> deliver(AgentSpec agent, AgentMessage message);

  /** False while the agent's circuit is open (it has failed repeatedly and is not being called). */
  boolean isAvailable(String agentId);

  /** Told when an agent's circuit opens and when it closes again. */
  void onAvailabilityChange(AvailabilityListener listener);

  interface AvailabilityListener {
    void changed(String agentId, boolean available);
  }

  final class AgentRejectedException extends RuntimeException {
    private final int status;

    public AgentRejectedException(int status, String message) {
      super(message);
      this.status = status;
    }

    public int status() {
      return status;
    }
  }
}
