package io.parley.agent;

import com.typesafe.config.Config;
import java.net.URI;
import java.net.URISyntaxException;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.Optional;

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

  /**
   * Intent classification for the front door (docs/adr/0017): below {@code threshold} the fallback agent is
   * chosen; decisions are cached in Redis for {@code cacheTtl}, and a cache read waits at most
   * {@code cacheTimeout}. {@code mode} REMOTE asks the classifier service at {@code remoteUrl} (waiting at
   * most {@code remoteTimeout}) and classifies locally when it fails.
   */
  public record ClassifierSettings(double threshold, String fallbackAgent, Duration cacheTtl, Duration cacheTimeout,
                                   Mode mode, Optional<URI> remoteUrl, Duration remoteTimeout) {

    public enum Mode { LOCAL, REMOTE }

    public ClassifierSettings {
      if (!(threshold >= 0 && threshold <= 1)) {
        throw new IllegalArgumentException("parley.agents.classifier.threshold must be between 0 and 1");
      }
      Objects.requireNonNull(fallbackAgent);
      Objects.requireNonNull(mode);
      Objects.requireNonNull(remoteUrl);
      if (mode == Mode.REMOTE && remoteUrl.isEmpty()) {
        throw new IllegalArgumentException("parley.agents.classifier.mode = remote needs remote-url");
      }
    }

    static ClassifierSettings from(Config c) {
      String mode = c.getString("mode").strip().toUpperCase(Locale.ROOT);
      if (!mode.equals("LOCAL") && !mode.equals("REMOTE")) {
        throw new IllegalArgumentException("parley.agents.classifier.mode must be local or remote");
      }
      String url = c.getString("remote-url").strip();
      Optional<URI> remote;
      try {
        remote = url.isEmpty() ? Optional.empty() : Optional.of(new URI(url));
      } catch (URISyntaxException e) {
        throw new IllegalArgumentException("parley.agents.classifier.remote-url is not a URL");
      }
      if (remote.isPresent() && !List.of("http", "https").contains(String.valueOf(remote.get().getScheme()))) {
        throw new IllegalArgumentException("parley.agents.classifier.remote-url must be an http or https URL");
      }
      return new ClassifierSettings(
          c.getDouble("threshold"),
          c.getString("fallback-agent"),
          c.getDuration("cache-ttl"),
          c.getDuration("cache-timeout"),
          Mode.valueOf(mode),
          remote,
          c.getDuration("remote-timeout"));
    }
  }

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
        new RegistrySettings(
            c.getDuration("registry.refresh-interval"),
            c.getDuration("registry.distribution-timeout"),
            c.getString("registry.redis-key"),
            new RegistrySettings.KubernetesSettings(
                c.getBoolean("registry.kubernetes.enabled"),
                namespaces(c.getString("registry.kubernetes.namespaces")),
                c.getString("registry.kubernetes.label"),
                c.getBoolean("registry.kubernetes.knative"))),
        ClassifierSettings.from(c.getConfig("classifier")),
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

  /** A comma-separated list (one environment variable can set it), blanks dropped. */
  private static List<String> namespaces(String value) {
    return Arrays.stream(value.split(",")).map(String::strip).filter(n -> !n.isEmpty()).toList();
  }
}
