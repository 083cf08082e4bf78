package io.parley.gateway;

import static org.assertj.core.api.Assertions.assertThat;

import io.parley.protocol.ClientFrame;
import io.parley.protocol.ServerFrame;
import io.parley.testing.Chat;
import io.parley.testing.DevAccounts;
import io.parley.testing.NodeExtension;
import io.parley.testing.WsClient;
import java.net.http.WebSocket;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The WebSocket transport under Parley's socket stage (ADR 0025), over real sockets: what pekko-http's message
 * layer did for the frame handling below it still happens (pongs, both sides' close handshakes), and a socket
 * that closes leaves its device free to come back.
 */
class WebSocketTransportTest {
  @RegisterExtension
  static final NodeExtension parley = new NodeExtension(Map.of());

  @Test
  void aTransportPingIsAnsweredWithAPongCarryingItsPayload() {
    try (WsClient client = WsClient.connect(parley.port())) {
      byte[] payload = "ping-1".getBytes(StandardCharsets.UTF_8);
      client.sendPing(payload);
      assertThat(client.nextPong()).isEqualTo(payload);
      // and the socket still carries the protocol's own frames
      client.send(new ClientFrame.Ping("n-1"));
      assertThat(client.next(ServerFrame.Pong.class).nonce()).isEqualTo("n-1");
    }
  }

  @Test
  void aClientsCloseIsAnsweredWithACloseFrame() {
    DevAccounts.Account alice = DevAccounts.login(parley.port(), "transport-close");
    try (WsClient client = Chat.connect(parley.port(), alice)) {
      client.sendClose(WebSocket.NORMAL_CLOSURE, "bye");
      assertThat(client.awaitClose()).isEqualTo(WebSocket.NORMAL_CLOSURE);
    }
  }

  @Test
  void aDeviceWhoseSocketClosedComesBackAndIsServed() {
    DevAccounts.Account alice = DevAccounts.login(parley.port(), "transport-back-a");
    DevAccounts.Account bob = DevAccounts.login(parley.port(), "transport-back-b");
    String id = Chat.newConversationId();
    try (WsClient bobs = Chat.connect(parley.port(), bob)) {
      try (WsClient first = Chat.connect(parley.port(), alice)) {
        first.send(new ClientFrame.Create("c-1", id, List.of(bob.accountId())));
        first.await(ServerFrame.Created.class, created -> created.conversationId().equals(id));
        first.sendClose(WebSocket.NORMAL_CLOSURE, "bye");
        assertThat(first.awaitClose()).isEqualTo(WebSocket.NORMAL_CLOSURE);
      }
      try (WsClient again = Chat.connect(parley.port(), alice)) {
        String key = UUID.randomUUID().toString();
        again.send(new ClientFrame.Send(id, key, List.of(Chat.envelope(bob, 1, "after the close"))));
        assertThat(again.await(ServerFrame.Ack.class, ack -> ack.idempotencyKey().equals(key)).seq()).isEqualTo(2);
        assertThat(bobs.await(ServerFrame.Message.class, message -> message.seq() == 2).conversationId())
            .isEqualTo(id);
      }
    }
  }
}
