package io.parley.client;

import static org.assertj.core.api.Assertions.assertThat;

import io.parley.ParleyNode;
import io.parley.testing.NodeProcess;
import io.parley.testing.TestNode;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The node restarts (graceful shutdown: reconnect, 1012) in the middle of a burst between two SDK clients. */
class ClientNodeRestartIntegrationTest {
  @TempDir
  Path dataDir;

  @TempDir
  Path stores;

  @Test
  void aBurstThroughANodeRestartArrivesOnceAndInOrder() {
    int port = NodeProcess.freePort();
    Map<String, Object> config = Map.of("parley.http.port", port, "parley.directory.claim-rate", 10_000);
    ParleyNode node = TestNode.start(dataDir, config);
    TestClients clients = new TestClients(port, stores);
    try {
      TestClients.Device alice = clients.start(clients.account("restart-alice"), 1);
      TestClients.Device bob = clients.start(clients.account("restart-bob"), 1);
      String c = "c-" + UUID.randomUUID();
      alice.client.createConversation(c, List.of(bob.id())).join();

      int count = 40;
      List<CompletableFuture<Long>> futures = new ArrayList<>();
      for (int i = 0; i < count / 2; i++) {
        futures.add(alice.client.send(c, "burst " + i));
      }
      futures.get(4).join();
      TestNode.stop(node);
      for (int i = count / 2; i < count; i++) {
        futures.add(alice.client.send(c, "burst " + i));
      }
      node = TestNode.start(dataDir, config);

      List<Long> seqs = futures.stream().map(f -> f.orTimeout(90, TimeUnit.SECONDS).join()).toList();
      bob.awaitTexts(c, count);
      List<String> expected = new ArrayList<>();
      for (int i = 0; i < count; i++) {
        expected.add("burst " + i);
      }
      assertThat(bob.texts(c)).as("every message once, in order").containsExactlyElementsOf(expected);
      assertThat(bob.messages.stream().map(DecryptedMessage::seq).toList()).containsExactlyElementsOf(seqs);
      assertThat(seqs).isSorted().doesNotHaveDuplicates();
      assertThat(alice.states).contains(ConnectionState.RECONNECTING);
      assertThat(bob.errors).isEmpty();
    } finally {
      clients.close();
      TestNode.stop(node);
    }
  }
}
