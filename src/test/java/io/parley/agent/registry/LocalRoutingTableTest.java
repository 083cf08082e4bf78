package io.parley.agent.registry;

import static org.assertj.core.api.Assertions.assertThat;

import io.parley.agent.AgentSpec;
import io.parley.agent.RegistrySnapshot;
import java.net.URI;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class LocalRoutingTableTest {

  @Test
  void keepsOnlyNewerVersionsAndTellsListenersOfEach() {
    LocalRoutingTable table = new LocalRoutingTable();
    List<Long> seen = new ArrayList<>();
    table.onChange(snapshot -> seen.add(snapshot.version()));
    table.onChange(snapshot -> {
      throw new IllegalStateException("a failing listener does not stop the others");
    });

    assertThat(table.current()).isEqualTo(RegistrySnapshot.EMPTY);
    assertThat(table.offer(snapshot(2, "weather"))).isTrue();
    assertThat(table.offer(snapshot(1, "stale"))).isFalse();
    assertThat(table.offer(snapshot(2, "same-version"))).isFalse();
    assertThat(table.offer(snapshot(5, "translate"))).isTrue();

    assertThat(table.current().version()).isEqualTo(5);
    assertThat(table.current().byId("translate")).isPresent();
    assertThat(seen).containsExactly(2L, 5L);
  }

  @Test
  void snapshotsSurviveJsonAndGzipWithTheirContentHash() {
    RegistrySnapshot snapshot = new RegistrySnapshot(7, Instant.parse("2030-01-01T00:00:00Z"), List.of(
        agent("weather"), new AgentSpec("assistant", "Assistant", Optional.empty(), "front door", List.of(), "",
            true, AgentSpec.Source.BUILT_IN, "u_BBBBBBBBBBBBBBBBBBBBBB")));

    assertThat(SnapshotCodec.fromJson(SnapshotCodec.toJson(snapshot))).isEqualTo(snapshot);
    assertThat(DistributedSnapshot.of(snapshot).snapshot()).isEqualTo(snapshot);
    assertThat(SnapshotCodec.contentHash(snapshot.agents()))
        .isEqualTo(SnapshotCodec.contentHash(List.of(snapshot.agents().get(1), snapshot.agents().get(0))))
        .isNotEqualTo(SnapshotCodec.contentHash(List.of(agent("weather"))));
  }

  private static RegistrySnapshot snapshot(long version, String agentId) {
    return new RegistrySnapshot(version, Instant.now(), List.of(agent(agentId)));
  }

  private static AgentSpec agent(String id) {
    return new AgentSpec(id, id, Optional.of(URI.create("https://" + id + ".example/")), "about " + id,
        List.of("hello " + id), "local:abc:c2VhbGVk", true, AgentSpec.Source.ADMIN, "u_AAAAAAAAAAAAAAAAAAAAAA");
  }
}
