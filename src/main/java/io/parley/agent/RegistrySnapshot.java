package io.parley.agent;

import java.time.Instant;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Function;
import java.util.stream.Collectors;

/**
 * The whole agent registry at one moment, as the registry singleton distributes it. {@code version} grows
 * with every refresh that changed something, so a node keeps the newer of two snapshots. Immutable.
 */
public record RegistrySnapshot(long version, Instant takenAt, List<AgentSpec> agents) {

  public static final RegistrySnapshot EMPTY = new RegistrySnapshot(0, Instant.EPOCH, List.of());

  public RegistrySnapshot {
    agents = agents.stream().sorted(Comparator.comparing(AgentSpec::id)).toList();
  }

  public Optional<AgentSpec> byId(String id) {
    return agents.stream().filter(a -> a.id().equals(id)).findFirst();
  }

  public Optional<AgentSpec> byAccount(String accountId) {
    return agents.stream().filter(a -> a.accountId().equals(accountId)).findFirst();
  }

  /** The agents routing may pick, by id. */
  public Map<String, AgentSpec> routable() {
    return agents.stream().filter(AgentSpec::routable)
        .collect(Collectors.toMap(AgentSpec::id, Function.identity(), (a, b) -> a, LinkedHashMap::new));
  }

  public boolean isNewerThan(RegistrySnapshot other) {
    return version > other.version;
  }
}
