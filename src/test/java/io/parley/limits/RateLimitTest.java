package io.parley.limits;

import static io.parley.testing.Chat.newConversationId;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.parley.protocol.ClientFrame;
import io.parley.protocol.ServerFrame;
import io.parley.testing.Chat;
import io.parley.testing.DevAccounts;
import io.parley.testing.DevAccounts.Account;
import io.parley.testing.NodeExtension;
import io.parley.testing.WsClient;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpResponse;
import java.net.http.WebSocket;
import java.net.http.WebSocketHandshakeException;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletionException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** Send and connect limits through a real node and its Redis. */
class RateLimitTest {
  @RegisterExtension
  static final NodeExtension parley = new NodeExtension(Map.of(
      "parley.rate-limits.enabled", true,
      "parley.rate-limits.send-burst.permits", 3,
      "parley.rate-limits.send-burst.interval", "2s",
      "parley.rate-limits.connect.permits", 2,
      "parley.rate-limits.connect.interval", "1h",
      // a loaded test machine can take longer than the default 250 ms, and a late check fails open
      "parley.rate-limits.redis-timeout", "10s",
      // the test's own connections come from loopback, which is the trusted proxy here
      "parley.rate-limits.trusted-proxies", "127.0.0.1"));

  @Test
  void aRateLimitedSendStoresNothingAndItsRetryWithTheSameKeyIsStored() {
    Account alice = DevAccounts.login(parley.port(), "alice-limited");
    Account bob = DevAccounts.login(parley.port(), "bob-limited");
    try (WsClient a = connect(alice); WsClient b = connect(bob)) {
      String conversation = newConversationId();
      Chat.create(a, conversation, List.of(bob.accountId()));
      b.next(ServerFrame.Member.class);
      // four sends at once against a limit of three in any two seconds: one is refused
      List<ClientFrame.Send> sends = new java.util.ArrayList<>();
      for (int i = 1; i <= 4; i++) {
        sends.add(Chat.send(conversation, "k-limited-" + i, bob, "message " + i));
        a.send(sends.get(i - 1));
      }
      List<ServerFrame.Ack> acks = new java.util.ArrayList<>();
      List<ServerFrame.Error> refusals = new java.util.ArrayList<>();
      while (acks.size() + refusals.size() < 4) {
        ServerFrame frame = a.await(ServerFrame.class, f -> f instanceof ServerFrame.Ack
            || f instanceof ServerFrame.Error);
        if (frame instanceof ServerFrame.Ack ack) {
          acks.add(ack);
        } else {
          refusals.add((ServerFrame.Error) frame);
        }
      }
      assertThat(refusals).hasSize(1);
      ServerFrame.Error limited = refusals.get(0);
      assertThat(limited.code()).isEqualTo("rate_limited");
      assertThat(limited.retryable()).isTrue();
      assertThat(limited.retryAfterMs()).isBetween(1L, 2_000L);
      ClientFrame.Send refused = sends.stream()
          .filter(send -> send.idempotencyKey().equals(limited.idempotencyKey())).findFirst().orElseThrow();
      assertThat(acks).extracting(ServerFrame.Ack::seq).containsExactlyInAnyOrder(2L, 3L, 4L);
      long stored = 4;

      // nothing of the refused send reached bob
      String refusedText = Chat.textOf(refused.envelopes().get(0).body());
      List<String> seen = new java.util.ArrayList<>();
      for (int i = 0; i < 3; i++) {
        seen.add(Chat.text(b.next(ServerFrame.Message.class)));
      }
      assertThat(seen).doesNotContain(refusedText);

      long retryAt = System.currentTimeMillis() + limited.retryAfterMs();
      await().atMost(Duration.ofSeconds(3)).until(() -> System.currentTimeMillis() >= retryAt);
      ClientFrame.Send retry = refused;
      a.send(retry);
      ServerFrame.Ack ack = a.await(ServerFrame.Ack.class, x -> x.idempotencyKey().equals(retry.idempotencyKey()));
      assertThat(ack.duplicate()).as("the key was never used").isFalse();
      assertThat(ack.seq()).isEqualTo(stored + 1);
      assertThat(Chat.text(b.await(ServerFrame.Message.class, m -> m.seq() == stored + 1)))
          .isEqualTo(Chat.textOf(retry.envelopes().get(0).body()));
    }
  }

  @Test
  void theThirdUpgradeFromOneAddressWithinTheIntervalIsRefusedWith429() throws Exception {
    // each address its own budget of 2: X-Forwarded-For counts, because the peer (loopback) is trusted
    for (int i = 0; i < 2; i++) {
      upgrade("203.0.113.7").sendClose(WebSocket.NORMAL_CLOSURE, "bye").join();
    }
    HttpResponse<?> refused = refusedUpgrade("203.0.113.7");
    assertThat(refused.statusCode()).isEqualTo(429);
    long retryAfter = Long.parseLong(refused.headers().firstValue("Retry-After").orElseThrow());
    assertThat(retryAfter).isBetween(1L, 3600L);

    upgrade("203.0.113.8").sendClose(WebSocket.NORMAL_CLOSURE, "bye").join();
    // the left-most, client-supplied entry is not believed: the address the trusted proxy saw counts
    assertThat(refusedUpgrade("198.51.100.1, 203.0.113.7").statusCode()).isEqualTo(429);
  }

  private static WsClient connect(Account account) {
    return Chat.connect(parley.port(), account, 1, Map.of());
  }

  private static WebSocket upgrade(String forwardedFor) {
    return HttpClient.newHttpClient().newWebSocketBuilder().header("X-Forwarded-For", forwardedFor)
        .buildAsync(URI.create("ws://127.0.0.1:" + parley.port() + "/v1/ws"), new WebSocket.Listener() {})
        .join();
  }

  private static HttpResponse<?> refusedUpgrade(String forwardedFor) {
    try {
      upgrade(forwardedFor);
    } catch (CompletionException e) {
      if (e.getCause() instanceof WebSocketHandshakeException handshake) {
        return handshake.getResponse();
      }
      throw e;
    }
    throw new AssertionError("the upgrade was accepted");
  }
}
