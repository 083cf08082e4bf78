package io.parley.agent.routing;

import io.parley.agent.AgentSpec;
import io.parley.agent.RegistrySnapshot;
import io.parley.bench.IntentFixture;
import java.net.URI;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/** Agents and snapshots for routing tests. */
final class RoutingFixtures {
  static final IntentFixture FIXTURE = IntentFixture.load();

  private RoutingFixtures() {}

  static AgentSpec agent(String id, String description, boolean enabled, boolean endpoint, String... examples) {
    return new AgentSpec(id, id, endpoint ? Optional.of(URI.create("http://127.0.0.1:1/" + id)) : Optional.empty(),
        description, List.of(examples), "", enabled, AgentSpec.Source.ADMIN, "u_" + id);
  }

  static RegistrySnapshot snapshot(long version, AgentSpec... agents) {
    return new RegistrySnapshot(version, Instant.EPOCH, List.of(agents));
  }

  /** The measurement fixture's agents plus {@code more}. */
  static RegistrySnapshot fixtureWith(long version, AgentSpec... more) {
    List<AgentSpec> agents = new ArrayList<>(FIXTURE.agents());
    agents.addAll(List.of(more));
    return new RegistrySnapshot(version, Instant.EPOCH, agents);
  }
}
