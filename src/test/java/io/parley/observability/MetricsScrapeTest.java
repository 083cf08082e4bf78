package io.parley.observability;

import static io.parley.testing.Chat.newConversationId;
import static io.parley.testing.Chat.newKey;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.parley.protocol.ClientFrame;
import io.parley.protocol.ServerFrame;
import io.parley.testing.Chat;
import io.parley.testing.DevAccounts;
import io.parley.testing.DevAccounts.Account;
import io.parley.testing.NodeExtension;
import io.parley.testing.NodeProcess;
import io.parley.testing.WsClient;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.OptionalDouble;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** Prometheus scrapes the node's metrics port over real HTTP after some chat traffic. */
class MetricsScrapeTest {
  private static final int METRICS = NodeProcess.freePort();
  private static final HttpClient HTTP = HttpClient.newHttpClient();

  @RegisterExtension
  static final NodeExtension parley = new NodeExtension(Map.of(
      "parley.metrics.enabled", true,
      "parley.metrics.port", METRICS,
      "parley.metrics.tick-interval", "200ms"));

  @Test
  void theScrapeShowsConnectionsMessagesAndLatenciesWithoutIdentifiers() {
    Account alice = DevAccounts.login(parley.port(), "alice-metrics");
    Account bob = DevAccounts.login(parley.port(), "bob-metrics");
    String id = newConversationId();
    String unknownConversation = newConversationId();
    double acceptedBefore = value(scrape(), "parley_messages_accepted_total", "").orElse(0);
    try (WsClient a = Chat.connect(parley.port(), alice); WsClient b = Chat.connect(parley.port(), bob)) {
      Chat.create(a, id, List.of(bob.accountId()));
      String key = newKey();
      Chat.sendUntilAcked(a, Chat.send(id, key, bob, "first"));
      Chat.sendUntilAcked(a, Chat.send(id, newKey(), bob, "second"));
      assertThat(Chat.sendUntilAcked(a, Chat.send(id, key, bob, "first")).duplicate()).isTrue();
      String refusedKey = newKey();
      a.send(Chat.send(unknownConversation, refusedKey, bob, "nowhere"));
      ServerFrame.Error refused = a.await(ServerFrame.Error.class, e -> refusedKey.equals(e.idempotencyKey()));
      b.await(ServerFrame.Message.class, m -> m.conversationId().equals(id) && m.seq() == 3);

      String scrape = await().atMost(Duration.ofSeconds(10)).until(MetricsScrapeTest::scrape, text ->
          value(text, "parley_connections", "").orElse(-1) == 2
              && value(text, "parley_messages_accepted_total", "").orElse(0) >= acceptedBefore + 2
              && value(text, "parley_messages_rejected_total", "code=\"" + refused.code() + "\"").orElse(0) >= 1);
      assertThat(value(scrape, "parley_messages_duplicates_total", "").orElse(0)).as("parley_messages_duplicates_total").isGreaterThanOrEqualTo(1);
      assertThat(value(scrape, "parley_send_ack_latency_seconds_count", "").orElse(0)).as("parley_send_ack_latency_seconds_count").isGreaterThanOrEqualTo(2);
      assertThat(value(scrape, "parley_journal_persist_latency_seconds_count", "").orElse(0)).as("parley_journal_persist_latency_seconds_count").isGreaterThanOrEqualTo(2);
      assertThat(value(scrape, "parley_delivery_pushes_total", "").orElse(0)).as("parley_delivery_pushes_total").isGreaterThanOrEqualTo(2);
      assertThat(scrape).contains("# TYPE parley_connections gauge");
      for (String identifier : List.of(alice.accountId(), bob.accountId(), alice.handle(), bob.handle(), id,
          unknownConversation, key, refusedKey)) {
        assertThat(scrape).doesNotContain(identifier);
      }

      b.close();
      await().atMost(Duration.ofSeconds(10))
          .until(() -> value(scrape(), "parley_connections", "").orElse(-1) == 1);
    }
  }

  private static String scrape() {
    try {
      HttpResponse<String> response = HTTP.send(HttpRequest.newBuilder(
          URI.create("http://127.0.0.1:" + METRICS + "/metrics")).GET().build(), HttpResponse.BodyHandlers.ofString());
      assertThat(response.statusCode()).isEqualTo(200);
      assertThat(response.headers().firstValue("Content-Type")).hasValueSatisfying(v -> assertThat(v).startsWith("text/plain"));
      return response.body();
    } catch (Exception e) {
      throw new IllegalStateException("scraping the metrics port", e);
    }
  }

  /** The value of the sample {@code name} whose labels contain {@code label} (any sample for ""). */
  private static OptionalDouble value(String scrape, String name, String label) {
    Matcher sample = Pattern.compile("^" + Pattern.quote(name) + "(\\{[^}]*})? ([0-9.eE+-]+)$", Pattern.MULTILINE)
        .matcher(scrape);
    while (sample.find()) {
      String labels = sample.group(1) == null ? "" : sample.group(1);
      if (labels.contains(label)) {
        return OptionalDouble.of(Double.parseDouble(sample.group(2)));
      }
    }
    return OptionalDouble.empty();
  }
}
