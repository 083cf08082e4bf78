package io.parley.agent;

import com.typesafe.config.Config;
import java.time.Duration;

/** The agents' settings, read from {@code parley.agents} (agents.conf). */
public record AgentSettings(
    boolean enabled,
    RegistrySettings registry,
    ClassifierSettings classifier,
    DispatchSettings dispatch,
    GatewaySettings gateway,
    DemoSettings demo) {

  /** How often the registry singleton re-reads MongoDB (and Kubernetes, when discovery is on). */
  public record RegistrySettings(Duration refreshInterval) {}

  /** Intent classification for the front door. */
  public record ClassifierSettings(double threshold, String fallbackAgent, Duration cacheTtl) {}

  /**
   * CloudEvents out (per-agent timeout, concurrency, retry backoff and circuit breaker) and in (the largest
   * reply body, how old a signed reply may be, how long a reply's id is remembered).
   */
  public record DispatchSettings(Duration timeout, int maxConcurrency, Duration backoffMin, Duration backoffMax,
                                 int breakerMaxFailures, Duration breakerResetTimeout,
                                 long replyMaxBytes, Duration signatureMaxAge, Duration replyDedupTtl,
                                 Duration ephemeralDedupTtl) {}

  /** The agents' encryption endpoint: where the key-encryption key comes from, and the front door agent. */
  public record GatewaySettings(String kekFile, String frontDoorId, String frontDoorName) {}

  /**
   * The demo agents served beside an embedded node (and by {@code parley agent-demo}). The OpenAI-compatible
   * forwarder is configured when {@code openAiBaseUrl} is not blank; its API key is read from the
   * environment only ({@code PARLEY_OPENAI_API_KEY}).
   */
  public record DemoSettings(boolean startWithNode, int port, String echoId, String openAiId, String openAiBaseUrl,
                             String openAiModel) {}

  public static AgentSettings from(Config root) {
    Config c = root.getConfig("parley.agents");
    return new AgentSettings(
        c.getBoolean("enabled"),
        new RegistrySettings(c.getDuration("registry.refresh-interval")),
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
            c.getDuration("dispatch.breaker-reset-timeout"),
            c.getBytes("dispatch.reply-max-bytes"),
            c.getDuration("dispatch.signature-max-age"),
            c.getDuration("dispatch.reply-dedup-ttl"),
            c.getDuration("dispatch.ephemeral-dedup-ttl")),
        new GatewaySettings(
            c.getString("gateway.kek-file"),
            c.getString("gateway.front-door-id"),
            c.getString("gateway.front-door-name")),
        new DemoSettings(
            c.getBoolean("demo.start-with-node"),
            c.getInt("demo.port"),
            c.getString("demo.echo-id"),
            c.getString("demo.openai-id"),
            c.getString("demo.openai-base-url"),
            c.getString("demo.openai-model")));
  }
}
