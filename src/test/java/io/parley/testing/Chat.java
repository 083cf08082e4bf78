package io.parley.testing;

import io.parley.protocol.ClientFrame;
import io.parley.protocol.Envelope;
import io.parley.protocol.ServerFrame;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.UUID;

/** Small helpers that keep the integration tests about behaviour rather than frame plumbing. */
public final class Chat {
  private Chat() {}

  public static WsClient connect(int port, DevAccounts.Account account, int device, Map<String, Long> cursors) {
    WsClient client = WsClient.connect(port);
    client.send(new ClientFrame.Hello(account.token(), device, cursors));
    client.next(ServerFrame.Welcome.class);
    return client;
  }

  public static WsClient connect(int port, DevAccounts.Account account) {
    return connect(port, account, 1, Map.of());
  }

  public static String newConversationId() {
    return "c-" + UUID.randomUUID();
  }

  public static String newKey() {
    return "k-" + UUID.randomUUID();
  }

  /** A stand-in ciphertext: these tests are about delivery, not cryptography. */
  public static Envelope envelope(DevAccounts.Account to, int device, String text) {
    return new Envelope(to.accountId(), device, Envelope.WHISPER,
        Base64.getEncoder().encodeToString(text.getBytes(StandardCharsets.UTF_8)));
  }

  public static ClientFrame.Send send(String conversationId, String key, DevAccounts.Account to, String text) {
    return new ClientFrame.Send(conversationId, key, List.of(envelope(to, 1, text)));
  }

  public static String text(ServerFrame.Message message) {
    return new String(Base64.getDecoder().decode(message.envelope().body()), StandardCharsets.UTF_8);
  }
}
