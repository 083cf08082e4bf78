package io.parley.cluster;

import static org.assertj.core.api.Assertions.assertThat;

import io.parley.testing.TestCluster;
import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A rolling restart under load: three nodes over one shared store, twelve SDK clients in six
 * conversations spread over them, sending all the time. Each node in turn stops gracefully (coordinated
 * shutdown: unready, unbind, reconnect + 1012 to its clients, shard hand-off, leave) and a new node takes
 * its place on the same ports. Every acknowledged message reaches its recipient once and in order, and
 * the pause each client sees is measured.
 */
class RollingRestartTest {
  private static final int PAIRS = 6;
  private static final Duration SEND_EVERY = Duration.ofMillis(50);

  @TempDir Path dir;
  @TempDir Path stores;

  @Test
  void nothingAcknowledgedIsLostDuplicatedOrReorderedAcrossARollingRestart() {
    try (TestCluster cluster = TestCluster.start(dir, 3, Map.of());
         ChatLoad load = new ChatLoad(cluster.places().stream()
             .map(place -> URI.create("http://127.0.0.1:" + place.http())).toList(), stores, PAIRS, "rolling")) {
      load.startSending(SEND_EVERY);
      load.awaitProgress(10);

      long started = System.nanoTime();
      for (int i = 0; i < 3; i++) {
        cluster.stopNode(i);
        cluster.startNode(i, Map.of());
        cluster.awaitMembersUp(3);
        load.awaitProgress(5);
      }
      long rollingMs = (System.nanoTime() - started) / 1_000_000;
      load.stopAndVerify();

      List<Long> pauses = load.pausesMs();
      assertThat(load.clients()).as("every client lost its node at least once")
          .allMatch(c -> c.disconnects.get() >= 1);
      assertThat(pauses).hasSizeGreaterThanOrEqualTo(load.clients().size());
      System.out.printf("RollingRestartTest: %d clients, %d messages acknowledged and delivered once in order; "
              + "rolling restart of 3 nodes %d ms; %d client pauses (disconnect to next ack): p50 %d ms, "
              + "p99 %d ms, max %d ms; disconnect to welcome p50 %d ms, p99 %d ms%n",
          load.clients().size(), load.totalAcked(), rollingMs, pauses.size(), ChatLoad.percentile(pauses, 50),
          ChatLoad.percentile(pauses, 99), pauses.get(pauses.size() - 1),
          ChatLoad.percentile(load.reconnectsMs(), 50), ChatLoad.percentile(load.reconnectsMs(), 99));
    }
  }
}
