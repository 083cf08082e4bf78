package io.parley.gateway;

import static io.parley.testing.Chat.connect;
import static io.parley.testing.Chat.newConversationId;
import static io.parley.testing.Chat.newKey;
import static org.assertj.core.api.Assertions.assertThat;

import io.parley.protocol.ClientFrame;
import io.parley.protocol.Envelope;
import io.parley.protocol.ServerFrame;
import io.parley.testing.DevAccounts;
import io.parley.testing.DevAccounts.Account;
import io.parley.testing.NodeExtension;
import io.parley.testing.WsClient;
import java.time.Duration;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** A slow client cannot make the server hold its traffic: it is paused, or disconnected, and loses nothing. */
class SlowClientTest {
  private static final int WINDOW = 16;

  @RegisterExtension
  static final NodeExtension parley = new NodeExtension(Map.of(
        "parley.session.max-in-flight", WINDOW,
        "parley.session.outbound-buffer", 64));

  private static String conversationOf(WsClient a, WsClient b, Account bob) {
    String id = newConversationId();
    a.send(new ClientFrame.Create("r", id, List.of(bob.accountId())));
    a.await(ServerFrame.Created.class, c -> true);
    b.send(new ClientFrame.DeliveryAck(id, b.next(ServerFrame.Member.class).seq()));
    return id;
  }

  private static void sendAll(WsClient a, String id, Account bob, int count, String body) {
    for (int i = 0; i < count; i++) {
      a.send(new ClientFrame.Send(id, newKey(), List.of(new Envelope(bob.accountId(), 1, Envelope.WHISPER, body))));
      a.await(ServerFrame.Ack.class, x -> true);
    }
  }

  @Test
  void aDeviceThatDoesNotAcknowledgeIsPausedAtItsWindowAndResumesWhenItAcknowledges() {
    Account alice = DevAccounts.login(parley.port(), "alice-window");
    Account bob = DevAccounts.login(parley.port(), "bob-window");
    try (WsClient a = connect(parley.port(), alice); WsClient b = connect(parley.port(), bob)) {
      String id = conversationOf(a, b, bob);
      sendAll(a, id, bob, 3 * WINDOW, io.parley.testing.Chat.body("small"));

      for (long seq = 2; seq < 2 + WINDOW; seq++) {
        assertThat(b.next(ServerFrame.Message.class).seq()).isEqualTo(seq);
      }
      assertThat(b.poll(Duration.ofMillis(300))).as("paused: %d events unacknowledged", WINDOW).isNull();

      long last = 1 + WINDOW;
      b.send(new ClientFrame.DeliveryAck(id, last));
      while (last < 1 + 3 * WINDOW) {
        ServerFrame.Message message = b.next(ServerFrame.Message.class);
        assertThat(message.seq()).isEqualTo(++last);
        b.send(new ClientFrame.DeliveryAck(id, last));
      }
      assertThat(b.isClosed()).isFalse();
    }
  }

  @Test
  void aClientThatLetsAnswersPileUpUnreadIsDisconnectedAsTooSlowAndResumes() {
    Account alice = DevAccounts.login(parley.port(), "alice-slow");
    Account bob = DevAccounts.login(parley.port(), "bob-slow");
    byte[] large = new byte[60_000];
    large[0] = Envelope.VERSION_BYTE;
    String body = Base64.getEncoder().encodeToString(large);
    String id;
    try (WsClient a = connect(parley.port(), alice); WsClient b = connect(parley.port(), bob)) {
      id = conversationOf(a, b, bob);
      sendAll(a, id, bob, 10, body);
      for (long seq = 2; seq <= 11; seq++) {
        b.next(ServerFrame.Message.class);
      }
      b.send(new ClientFrame.DeliveryAck(id, 11));

      b.stopReading();
      for (int i = 0; i < 40; i++) {
        b.send(new ClientFrame.Fetch("f" + i, id, 2, 11));
      }
      b.resumeReading();
      ServerFrame frame;
      ServerFrame.Error tooSlow = null;
      while ((frame = b.poll(WsClient.WAIT)) != null && !(frame instanceof ServerFrame.Close)) {
        if (frame instanceof ServerFrame.Error error) {
          tooSlow = error;
        }
      }
      assertThat(tooSlow).isNotNull();
      assertThat(tooSlow.code()).isEqualTo("too_slow");
      assertThat(tooSlow.retryable()).isTrue();
      assertThat(frame).isInstanceOf(ServerFrame.Close.class);
      assertThat(((ServerFrame.Close) frame).code()).isEqualTo(Connection.CLOSE_TOO_SLOW);
      assertThat(b.awaitClose()).isEqualTo(1000);

      sendAll(a, id, bob, 1, io.parley.testing.Chat.body("after"));
    }
    try (WsClient b = connect(parley.port(), bob, 1, Map.of(id, 11L))) {
      assertThat(b.next(ServerFrame.Message.class).seq()).isEqualTo(12);
      assertThat(b.poll(Duration.ofMillis(300))).isNull();
    }
  }
}
