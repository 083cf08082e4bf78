package io.parley.agent.registry;

import static org.assertj.core.api.Assertions.assertThat;

import com.typesafe.config.ConfigFactory;
import io.parley.agent.AgentSettings;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class RegistrySettingsTest {

  @Test
  void defaultsRefreshEveryFiveMinutesWithDiscoveryOff() {
    AgentSettings.RegistrySettings registry = AgentSettings.from(ConfigFactory.load()).registry();
    assertThat(registry.refreshInterval()).isEqualTo(Duration.ofMinutes(5));
    assertThat(registry.distributionTimeout()).isEqualTo(Duration.ofSeconds(5));
    assertThat(registry.redisKey()).isEqualTo("parley:agents:registry-snapshot");
    assertThat(registry.kubernetes().enabled()).isFalse();
    assertThat(registry.kubernetes().namespaces()).isEmpty();
    assertThat(registry.kubernetes().label()).isEqualTo("parley.io/agent");
  }

  @Test
  void namespacesAreACommaSeparatedList() {
    AgentSettings.RegistrySettings registry = AgentSettings.from(ConfigFactory.parseMap(Map.of(
        "parley.agents.registry.kubernetes.namespaces", " agents, more-agents ,,",
        "parley.agents.registry.kubernetes.enabled", true)).withFallback(ConfigFactory.load())).registry();
    assertThat(registry.kubernetes().enabled()).isTrue();
    assertThat(registry.kubernetes().namespaces()).isEqualTo(List.of("agents", "more-agents"));
  }
}
