package io.parley.agent;

import com.typesafe.config.Config;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;

/** The agents' settings, read from {@code parley.agents} (agents.conf). */
public record AgentSettings(
    boolean enabled,
    RegistrySettings registry,
    ClassifierSettings classifier,
    DispatchSettings dispatch,
    GatewaySettings gateway,
    DemoSettings demo) {

  /**
   * The registry singleton (docs/adr/0016): how often it re-reads MongoDB (and Kubernetes, when discovery is on),
   * how long it waits for every node to take a new snapshot before gossip finishes the job, the Redis key of
   * the cached snapshot, and Kubernetes discovery.
   */
  public record RegistrySettings(Duration refreshInterval, Duration distributionTimeout, String redisKey,
                                 KubernetesSettings kubernetes) {

    /**
     * Agents discovered from Services (and Knative Services, when {@code knative}) carrying {@code label} in
     * {@code namespaces} (empty: the namespace the node runs in).
     */
    public record KubernetesSettings(boolean enabled, List<String> namespaces, String label, boolean knative) {
      public KubernetesSettings {
        namespaces = List.copyOf(namespaces);
      }
    }
  }

  /** Intent classification for the front door. */
  public record ClassifierSettings(double threshold, String fallbackAgent, Duration cacheTtl) {}

  /** CloudEvents out: per-agent timeout, concurrency, retry backoff and circuit breaker. */
  public record DispatchSettings(Duration timeout, int maxConcurrency, Duration backoffMin, Duration backoffMax,
                                 int breakerMaxFailures, Duration breakerResetTimeout) {}

  /** The agents' encryption endpoint: where the key-encryption key comes from, and the front door agent. */
  public record GatewaySettings(String kekFile, String frontDoorId, String frontDoorName) {}

  /** The demo agents served beside an embedded node. */
  public record DemoSettings(boolean startWithNode, int port) {}

  public static AgentSettings from(Config root) {
    Config c = root.getConfig("parley.agents");
    return new AgentSettings(
        c.getBoolean("enabled"),
        new RegistrySettings(
            c.getDuration("registry.refresh-interval"),
            c.getDuration("registry.distribution-timeout"),
            c.getString("registry.redis-key"),
            new RegistrySettings.KubernetesSettings(
                c.getBoolean("registry.kubernetes.enabled"),
                namespaces(c.getString("registry.kubernetes.namespaces")),
                c.getString("registry.kubernetes.label"),
                c.getBoolean("registry.kubernetes.knative"))),
        new ClassifierSettings(
            c.getDouble("classifier.threshold"),
            c.getString("classifier.fallback-agent"),
            c.getDuration("classifier.cache-ttl")),
        new DispatchSettings(
            c.getDuration("dispatch.timeout"),
            c.getInt("dispatch.max-concurrency"),
            c.getDuration("dispatch.backoff-min"),
            c.getDuration("dispatch.backoff-max"),
            c.getInt("dispatch.breaker-max-failures"),
            c.getDuration("dispatch.breaker-reset-timeout")),
        new GatewaySettings(
            c.getString("gateway.kek-file"),
            c.getString("gateway.front-door-id"),
            c.getString("gateway.front-door-name")),
        new DemoSettings(c.getBoolean("demo.start-with-node"), c.getInt("demo.port")));
  }

  /** A comma-separated list (one environment variable can set it), blanks dropped. */
  private static List<String> namespaces(String value) {
    return Arrays.stream(value.split(",")).map(String::strip).filter(n -> !n.isEmpty()).toList();
  }
}
