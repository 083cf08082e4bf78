package io.parley.testing;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import io.parley.ParleyNode;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;

/** Starts an in-process Parley node on free ports, embedded stores and a data dir of the test's. */
public final class TestNode {
  private TestNode() {}

  public static Config config(Path dataDir, Map<String, Object> overrides) {
    Map<String, Object> values = new HashMap<>();
    values.put("parley.http.port", 0);
    values.put("parley.store.embedded.data-dir", dataDir.toString());
    values.put("parley.store.embedded.fsync", false);
    values.put("parley.store.mongodb-uri", "");
    values.put("parley.redis.url", "");
    values.put("parley.auth.dev-tokens.enabled", true);
    values.put("parley.session.cursor-flush-interval", "200ms");
    values.put("parley.session.inbox-flush-interval", "200ms");
    // tests send bursts from one account and connect often from one address; the limits' own tests enable them
    values.put("parley.rate-limits.enabled", false);
    // agents are switched on by the tests about them (AgentTestNodes); elsewhere they would add an agent device
    values.put("parley.agents.enabled", false);
    values.put("parley.agents.demo.port", 0);
    values.put("pekko.remote.artery.canonical.port", 0);
    values.put("pekko.management.http.port", 0);
    values.put("pekko.coordinated-shutdown.run-by-jvm-shutdown-hook", "off");
    values.put("pekko.cluster.jmx.multi-mbeans-in-same-jvm", "on");
    values.putAll(overrides);
    return ConfigFactory.parseMap(values).withFallback(ConfigFactory.load());
  }

  public static ParleyNode start(Path dataDir) {
    return start(dataDir, Map.of());
  }

  public static ParleyNode start(Path dataDir, Map<String, Object> overrides) {
    return ParleyNode.start(config(dataDir, overrides));
  }

  public static void stop(ParleyNode node) {
    if (node != null) {
      node.stop(Duration.ofSeconds(30));
    }
  }
}
