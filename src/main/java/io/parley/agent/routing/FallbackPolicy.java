package io.parley.agent.routing;

import io.parley.agent.AgentSpec;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

/**
 * Turns a classifier's best candidate into a decision, the same way for every classifier: a candidate at or
 * above {@code threshold} is chosen; below it (or with no candidate at all) the fallback agent is chosen when
 * it is routable, and otherwise the best candidate all the same. Either way below the threshold the decision
 * says {@code fallback}, and its confidence is the best candidate's (so a fallback shows how close it was).
 * Only when there is neither a routable fallback agent nor a candidate does the first routable agent (by id)
 * take the message, with confidence 0: routing never stops while any agent is routable.
 */
public record FallbackPolicy(double threshold, String fallbackAgent) {

  public FallbackPolicy {
    if (!(threshold >= 0 && threshold <= 1)) {
      throw new IllegalArgumentException("threshold must be between 0 and 1: " + threshold);
    }
    Objects.requireNonNull(fallbackAgent);
  }

  /** A classifier's best agent and its confidence in [0, 1]. */
  public record Candidate(String agentId, double confidence) {}

  /**
   * @param routable the snapshot's routable agents, by id; {@code best}, when present, is one of them
   * @throws NoRoutableAgentException when {@code routable} is empty
   */
  public IntentDecision decide(Optional<Candidate> best, Map<String, AgentSpec> routable, long registryVersion) {
    if (routable.isEmpty()) {
      throw new NoRoutableAgentException(registryVersion);
    }
    double confidence = best.map(Candidate::confidence).orElse(0.0);
    if (best.isPresent() && confidence >= threshold) {
      return new IntentDecision(best.get().agentId(), confidence, false, false);
    }
    if (routable.containsKey(fallbackAgent)) {
      return new IntentDecision(fallbackAgent, confidence, true, false);
    }
    String agent = best.map(Candidate::agentId).orElseGet(() -> routable.keySet().stream().sorted().findFirst().orElseThrow());
    return new IntentDecision(agent, confidence, true, false);
  }
}
