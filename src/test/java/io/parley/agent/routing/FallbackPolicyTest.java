package io.parley.agent.routing;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.parley.agent.AgentSpec;
import io.parley.agent.routing.FallbackPolicy.Candidate;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class FallbackPolicyTest {
  private static final FallbackPolicy POLICY = new FallbackPolicy(0.4, "helpdesk");

  private static Map<String, AgentSpec> routable(String... ids) {
    Map<String, AgentSpec> agents = new java.util.LinkedHashMap<>();
    for (String id : ids) {
      agents.put(id, RoutingFixtures.agent(id, "", true, true));
    }
    return agents;
  }

  @Test
  void aCandidateAtTheThresholdIsChosen() {
    assertThat(POLICY.decide(Optional.of(new Candidate("billing", 0.4)), routable("billing", "helpdesk"), 1))
        .isEqualTo(new IntentDecision("billing", 0.4, false, false));
  }

  @Test
  void belowTheThresholdTheFallbackAgentIsChosenWithTheCandidatesConfidence() {
    assertThat(POLICY.decide(Optional.of(new Candidate("billing", 0.39)), routable("billing", "helpdesk"), 1))
        .isEqualTo(new IntentDecision("helpdesk", 0.39, true, false));
    assertThat(POLICY.decide(Optional.empty(), routable("billing", "helpdesk"), 1))
        .isEqualTo(new IntentDecision("helpdesk", 0.0, true, false));
  }

  @Test
  void withoutARoutableFallbackAgentTheBestCandidateIsChosenAllTheSame() {
    assertThat(POLICY.decide(Optional.of(new Candidate("orders", 0.1)), routable("billing", "orders"), 1))
        .isEqualTo(new IntentDecision("orders", 0.1, true, false));
    assertThat(POLICY.decide(Optional.empty(), routable("orders", "billing"), 1))
        .isEqualTo(new IntentDecision("billing", 0.0, true, false));
  }

  @Test
  void noRoutableAgentIsAnError() {
    assertThatThrownBy(() -> POLICY.decide(Optional.empty(), Map.of(), 7))
        .isInstanceOf(NoRoutableAgentException.class).hasMessageContaining("7");
  }

  @Test
  void theThresholdIsAProbability() {
    assertThatThrownBy(() -> new FallbackPolicy(1.5, "x")).isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> new FallbackPolicy(Double.NaN, "x")).isInstanceOf(IllegalArgumentException.class);
  }
}
