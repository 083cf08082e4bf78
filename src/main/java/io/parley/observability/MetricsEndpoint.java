package io.parley.observability;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import io.parley.config.ParleySettings.MetricsSettings;
import java.time.Duration;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import kamon.Kamon;
import kamon.prometheus.PrometheusReporter;
import org.apache.pekko.Done;
import org.apache.pekko.actor.CoordinatedShutdown;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.http.javadsl.Http;
import org.apache.pekko.http.javadsl.ServerBinding;
import org.apache.pekko.http.javadsl.model.ContentType;
import org.apache.pekko.http.javadsl.model.ContentTypes;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.model.HttpCharsets;
import org.apache.pekko.http.javadsl.model.HttpEntities;
import org.apache.pekko.http.javadsl.model.MediaTypes;
import org.apache.pekko.http.javadsl.server.AllDirectives;
import org.apache.pekko.http.javadsl.server.Route;

/**
 * Kamon and the Prometheus scrape endpoint. {@link #init} runs before the actor system is created, so that
 * Kamon's agent instruments Pekko; {@link #start} then serves {@code GET /metrics} on the metrics port.
 *
 * <p>Kamon is one per JVM: the first node of a JVM initialises it, later ones (tests run several) share it.
 */
public final class MetricsEndpoint extends AllDirectives {
  // Prometheus text exposition format 0.0.4
  private static final ContentType.WithFixedCharset PROMETHEUS_TEXT = ContentTypes.create(
      MediaTypes.customWithFixedCharset("text", "plain", HttpCharsets.UTF_8, Map.of("version", "0.0.4"), false));

  private static PrometheusReporter reporter; // guarded by MetricsEndpoint.class

  private MetricsEndpoint() {}

  /**
   * Starts Kamon and a Prometheus reporter (with Kamon's agent only when {@code instrumentation} is on), unless
   * metrics are off or Kamon already runs in this JVM. Kamon's status page and its own scrape server stay off: Parley serves the scrape itself.
   */
  public static synchronized void init(MetricsSettings settings, Config config) {
    if (!settings.enabled() || reporter != null) {
      return;
    }
    Config kamon = ConfigFactory.parseMap(Map.of(
            "kamon.metric.tick-interval", settings.tickInterval().toMillis() + "ms",
            "kamon.environment.service", "parley",
            "kamon.modules.status-page.enabled", false,
            "kamon.modules.prometheus-reporter.enabled", false,
            "kamon.prometheus.start-embedded-http-server", false,
            // HTTP spans would tag span metrics with request paths, which carry account ids
            "kamon.instrumentation.pekko.http.server.tracing.enabled", false,
            "kamon.instrumentation.pekko.http.client.tracing.enabled", false,
            // the machine's CPU, memory, disks and network are the node exporter's to report, not each pod's
            "kamon.modules.host-metrics.enabled", false,
            // Kamon wakes its hiccup monitor every millisecond by default, which alone cost an idle node about
            // 0.03 cores; every 10 ms still catches the pauses worth an alert (GC, CPU throttling)
            "kamon.instrumentation.system.process.hiccup-monitor-interval", "10ms"))
        .withFallback(config);
    if (settings.instrumentation()) {
      Kamon.init(kamon);
    } else {
      Kamon.initWithoutAttaching(kamon);
    }
    reporter = new PrometheusReporter("kamon.prometheus", kamon);
    Kamon.addReporter("parley-prometheus", reporter);
  }

  /** Binds {@code GET /metrics} on the metrics host and port; nothing when metrics are off. */
  public static CompletionStage<Optional<ServerBinding>> start(ActorSystem<?> system, MetricsSettings settings) {
    PrometheusReporter source;
    synchronized (MetricsEndpoint.class) {
      source = reporter;
    }
    if (!settings.enabled() || source == null) {
      return CompletableFuture.completedFuture(Optional.empty());
    }
    return Http.get(system).newServerAt(settings.host(), settings.port())
        .bind(new MetricsEndpoint().routes(source))
        .thenApply(binding -> {
          CoordinatedShutdown.get(system).addTask(CoordinatedShutdown.PhaseBeforeActorSystemTerminate(), "parley-metrics-unbind",
              () -> binding.terminate(Duration.ofSeconds(1)).thenApply(terminated -> Done.getInstance()));
          return Optional.of(binding);
        });
  }

  private Route routes(PrometheusReporter source) {
    return path("metrics", () -> get(() ->
        complete(HttpResponse.create()
            .withEntity(HttpEntities.create(PROMETHEUS_TEXT, source.scrapeData())))));
  }
}
