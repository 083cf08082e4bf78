package io.parley.directory;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.parley.protocol.ClientFrame;
import io.parley.protocol.ServerFrame;
import io.parley.testing.Chat;
import io.parley.testing.DevAccounts;
import io.parley.testing.DevAccounts.Account;
import io.parley.testing.NodeExtension;
import io.parley.testing.TestKeys;
import io.parley.testing.WsClient;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** What the key directory does to live connections, and the claim rate limit. */
class KeyDirectoryConnectionTest {
  private static final int CLAIM_RATE = 3;

  @RegisterExtension
  static final NodeExtension parley = new NodeExtension(Map.of("parley.directory.claim-rate", CLAIM_RATE));

  private static final ObjectMapper JSON = new ObjectMapper();
  private static final AtomicInteger USERS = new AtomicInteger();

  private static Account newAccount() {
    return DevAccounts.login(parley.port(), "keys-ws-" + USERS.incrementAndGet());
  }

  @Test
  void aDeviceWhosePreKeysRunLowHearsItLiveAndAfterEveryWelcome() {
    int port = parley.port();
    Account bob = newAccount();
    TestKeys.register(port, bob.token(), 1, 11);
    try (WsClient ws = Chat.connect(port, bob, 1, Map.of())) {
      TestKeys.claim(port, newAccount().token(), bob.accountId(), 1);
      TestKeys.claim(port, newAccount().token(), bob.accountId(), 1);

      ServerFrame.KeysLow low = ws.await(ServerFrame.KeysLow.class, frame -> true);
      assertThat(low).isEqualTo(new ServerFrame.KeysLow(1, 9));
      assertThat(ws.drain(Duration.ofMillis(300))).as("one notice per claim below the mark").isEmpty();
    }
    try (WsClient again = Chat.connect(port, bob, 1, Map.of())) {
      assertThat(again.next(ServerFrame.KeysLow.class)).isEqualTo(new ServerFrame.KeysLow(1, 9));
    }
  }

  @Test
  void aDeviceWithEnoughPreKeysHearsNothingAfterWelcome() {
    int port = parley.port();
    Account bob = newAccount();
    TestKeys.register(port, bob.token(), 1, 10);
    try (WsClient ws = Chat.connect(port, bob, 1, Map.of())) {
      ws.send(new ClientFrame.Ping("after-welcome"));
      assertThat(ws.next(ServerFrame.Pong.class).nonce()).isEqualTo("after-welcome");
    }
  }

  @Test
  void unlinkingADeviceClosesItsConnectionAndTakesItOffTheList() throws Exception {
    int port = parley.port();
    Account bob = newAccount();
    TestKeys.register(port, bob.token(), 1, 10);
    TestKeys.register(port, bob.token(), 2, 10);
    try (WsClient phone = Chat.connect(port, bob, 1, Map.of()); WsClient laptop = Chat.connect(port, bob, 2, Map.of())) {
      HttpResponse<String> removed = TestKeys.delete(port, bob.token(), "/v1/keys/devices/2");
      assertThat(removed.statusCode()).isEqualTo(204);

      ServerFrame.Error error = laptop.next(ServerFrame.Error.class);
      assertThat(error.code()).isEqualTo("unknown_device");
      assertThat(laptop.next(ServerFrame.Close.class)).isEqualTo(new ServerFrame.Close(4005, "unknown_device"));
      laptop.awaitClose();

      phone.send(new ClientFrame.Ping("still-here"));
      assertThat(phone.next(ServerFrame.Pong.class).nonce()).isEqualTo("still-here");
    }
    JsonNode list = JSON.readTree(TestKeys.get(port, bob.token(), "/v1/keys/" + bob.accountId() + "/devices").body());
    assertThat(list.get("devices").toString()).isEqualTo("[1]");
    assertThat(TestKeys.get(port, bob.token(), "/v1/keys/devices/2").statusCode()).isEqualTo(404);
  }

  @Test
  void claimsBeyondTheRateAreRefusedWithRetryAfter() throws Exception {
    int port = parley.port();
    Account bob = newAccount();
    Account greedy = newAccount();
    TestKeys.register(port, bob.token(), 1, 20);
    for (int i = 0; i < CLAIM_RATE; i++) {
      assertThat(TestKeys.get(port, greedy.token(), "/v1/keys/" + bob.accountId()).statusCode()).isEqualTo(200);
    }

    HttpResponse<String> limited = TestKeys.get(port, greedy.token(), "/v1/keys/" + bob.accountId() + "/1");
    assertThat(limited.statusCode()).isEqualTo(429);
    JsonNode body = JSON.readTree(limited.body());
    assertThat(body.get("error").textValue()).isEqualTo("rate_limited");
    long retryAfterMs = body.get("retryAfterMs").longValue();
    assertThat(retryAfterMs).isBetween(1L, 60_000L);
    assertThat(limited.headers().firstValue("Retry-After")).hasValueSatisfying(seconds ->
        assertThat(Long.parseLong(seconds)).isEqualTo((retryAfterMs + 999) / 1000));
    // the device list claims nothing and is not limited; other requesters are not either
    assertThat(TestKeys.get(port, greedy.token(), "/v1/keys/" + bob.accountId() + "/devices").statusCode())
        .isEqualTo(200);
    assertThat(TestKeys.get(port, newAccount().token(), "/v1/keys/" + bob.accountId()).statusCode()).isEqualTo(200);
    JsonNode status = JSON.readTree(TestKeys.get(port, bob.token(), "/v1/keys/devices/1").body());
    assertThat(status.get("oneTimePreKeys").intValue()).as("a refused claim takes no prekey").isEqualTo(16);
  }
}
