package io.parley.cluster;

import static org.assertj.core.api.Assertions.assertThat;

import io.parley.testing.NodeProcess;
import io.parley.testing.TestCluster;
import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.pekko.cluster.typed.Cluster;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * kill -9 of one node of three under load. The two survivors run in this JVM, the victim in a child JVM.
 * The split-brain resolver (keep-majority, stable-after shortened here) downs the victim, its shards start
 * on the survivors and recover from the journal, its clients reconnect to the next server in their list
 * and resend what was not acknowledged: every acknowledged message reaches its recipient once, in order.
 */
class NodeCrashClusterTest {
  private static final Map<String, Object> FAST_DOWNING = Map.of(
      "pekko.cluster.split-brain-resolver.stable-after", "3s");

  @TempDir Path dir;
  @TempDir Path stores;

  @Test
  void acknowledgedMessagesSurviveAKilledNode() {
    try (TestCluster cluster = TestCluster.create(dir, 3, FAST_DOWNING)) {
      cluster.startNode(0, Map.of());
      cluster.startNode(1, Map.of());
      Map<String, String> victimSettings = new HashMap<>();
      cluster.settings(cluster.place(2), Map.of()).forEach((key, value) -> victimSettings.put(key, value.toString()));
      victimSettings.put("parley.store.embedded.data-dir", dir.toString());
      victimSettings.put("parley.auth.dev-tokens.enabled", "true");
      victimSettings.put("parley.session.cursor-flush-interval", "200ms");
      victimSettings.put("parley.session.inbox-flush-interval", "200ms");
      try (NodeProcess victim = NodeProcess.start(victimSettings, dir.resolve("victim.log"))) {
        victim.awaitUp(Duration.ofSeconds(120));
        cluster.awaitMembersUp(3);
        try (ChatLoad load = new ChatLoad(cluster.places().stream()
            .map(place -> URI.create("http://127.0.0.1:" + place.http())).toList(), stores, 3, "crash")) {
          load.startSending(Duration.ofMillis(50));
          load.awaitProgress(10);

          long killedAt = System.nanoTime();
          victim.kill(Duration.ofSeconds(30));
          assertThat(victim.exitValue()).as("SIGKILL").isEqualTo(128 + 9);
          cluster.awaitMembersUp(2);
          long downedMs = (System.nanoTime() - killedAt) / 1_000_000;
          load.awaitProgress(10);
          load.stopAndVerify();

          List<ChatLoad.Client> onVictim = load.clients().stream()
              .filter(c -> c.servers.get(0).getPort() == cluster.place(2).http()).toList();
          assertThat(onVictim).isNotEmpty().allMatch(c -> c.disconnects.get() >= 1);
          assertThat(Cluster.get(cluster.node(0).system()).state().getMembers()).hasSize(2);
          List<Long> pauses = load.pausesMs();
          System.out.printf("NodeCrashClusterTest: %d clients, %d messages acknowledged and delivered once in order; "
                  + "victim removed %d ms after the kill; %d client pauses: p50 %d ms, p99 %d ms%n",
              load.clients().size(), load.totalAcked(), downedMs, pauses.size(), ChatLoad.percentile(pauses, 50),
              ChatLoad.percentile(pauses, 99));
        }
      }
    }
  }
}
