package io.parley.testing;

import io.parley.protocol.ClientFrame;
import io.parley.protocol.Envelope;
import io.parley.protocol.ServerFrame;
import java.nio.ByteBuffer;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.UUID;

/** Small helpers that keep the integration tests about behaviour rather than frame plumbing. */
public final class Chat {
  /** How long a client keeps retrying what a node answers with a retryable error. */
  public static final Duration RETRY_WITHIN = Duration.ofSeconds(60);

  private Chat() {}

  /**
   * Registers the device in the key directory unless it already is there, as every device must before it
   * says hello.
   */
  public static void register(int port, DevAccounts.Account account, int device) {
    HttpResponse<String> own = TestKeys.whileUnavailable(
        () -> TestKeys.get(port, account.token(), "/v1/keys/devices/" + device));
    if (own.statusCode() == 404) {
      TestKeys.register(port, account.token(), device, TestKeys.DEFAULT_PREKEYS);
    } else if (own.statusCode() != 200) {
      throw new IllegalStateException("key directory: HTTP " + own.statusCode() + " " + own.body());
    }
  }

  /** Registers the device (if needed), says hello and waits for welcome. */
  public static WsClient connect(int port, DevAccounts.Account account, int device, Map<String, Long> cursors) {
    register(port, account, device);
    WsClient client = WsClient.connect(port);
    client.send(new ClientFrame.Hello(account.token(), device, cursors));
    client.next(ServerFrame.Welcome.class);
    return client;
  }

  /**
   * Says hello until the node takes it, as a client does after a restart: a node that has just started
   * may answer a retryable error (and close) while its entities are still starting.
   */
  public static WsClient resume(int port, DevAccounts.Account account, int device, Map<String, Long> cursors) {
    long deadline = System.nanoTime() + RETRY_WITHIN.toNanos();
    register(port, account, device);
    ServerFrame answer = null;
    while (System.nanoTime() < deadline) {
      WsClient client = WsClient.connect(port);
      client.send(new ClientFrame.Hello(account.token(), device, cursors));
      answer = client.poll(WsClient.WAIT);
      if (answer instanceof ServerFrame.Welcome) {
        return client;
      }
      client.close();
      if (!(answer instanceof ServerFrame.Error error && error.retryable())) {
        break;
      }
    }
    throw new AssertionError("hello not welcomed within " + RETRY_WITHIN + "; last answer: " + answer);
  }

  /** Sends until acknowledged, sending again with the same key after a retryable error, as a client does. */
  public static ServerFrame.Ack sendUntilAcked(WsClient client, ClientFrame.Send send) {
    long deadline = System.nanoTime() + RETRY_WITHIN.toNanos();
    client.send(send);
    while (System.nanoTime() < deadline) {
      ServerFrame frame = client.poll(Duration.ofNanos(deadline - System.nanoTime()));
      if (frame instanceof ServerFrame.Ack ack && ack.idempotencyKey().equals(send.idempotencyKey())) {
        return ack;
      }
      if (frame instanceof ServerFrame.Error error && send.idempotencyKey().equals(error.idempotencyKey())) {
        if (!error.retryable()) {
          throw new AssertionError("send rejected: " + error);
        }
        client.send(send);
      }
    }
    throw new AssertionError("no ack for " + send.idempotencyKey() + " within " + RETRY_WITHIN);
  }

  /** Creates a conversation, asking again after a retryable error (a retried identical create is answered alike). */
  public static ServerFrame.Created create(WsClient creator, String conversationId, List<String> participants) {
    ClientFrame.Create create = new ClientFrame.Create("create-" + conversationId, conversationId, participants);
    long deadline = System.nanoTime() + RETRY_WITHIN.toNanos();
    creator.send(create);
    while (System.nanoTime() < deadline) {
      ServerFrame frame = creator.poll(Duration.ofNanos(deadline - System.nanoTime()));
      if (frame instanceof ServerFrame.Created created && created.requestId().equals(create.requestId())) {
        return created;
      }
      if (frame instanceof ServerFrame.Error error && create.requestId().equals(error.requestId())) {
        if (!error.retryable()) {
          throw new AssertionError("create rejected: " + error);
        }
        creator.send(create);
      }
    }
    throw new AssertionError("conversation not created within " + RETRY_WITHIN);
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

  /**
   * A stand-in ciphertext that passes the server's envelope check: these tests are about delivery, not
   * cryptography (the server cannot tell). The version byte, the text's length in two bytes, the text,
   * then padding up to the minimum size of a Whisper message.
   */
  public static Envelope envelope(DevAccounts.Account to, int device, String text) {
    return new Envelope(to.accountId(), device, Envelope.WHISPER, body(text));
  }

  /** The base64 body {@link #envelope} carries {@code text} in. */
  public static String body(String text) {
    byte[] bytes = text.getBytes(StandardCharsets.UTF_8);
    ByteBuffer body = ByteBuffer.allocate(Math.max(Envelope.MIN_WHISPER_BYTES, 3 + bytes.length));
    body.put(Envelope.VERSION_BYTE).putShort((short) bytes.length).put(bytes);
    return Base64.getEncoder().encodeToString(body.array());
  }

  /** One envelope with {@code text} for each of {@code to}'s {@code devices}. */
  public static List<Envelope> envelopes(DevAccounts.Account to, List<Integer> devices, String text) {
    return devices.stream().map(device -> envelope(to, device, text)).toList();
  }

  public static ClientFrame.Send send(String conversationId, String key, DevAccounts.Account to, String text) {
    return new ClientFrame.Send(conversationId, key, List.of(envelope(to, 1, text)));
  }

  public static String text(ServerFrame.Message message) {
    return textOf(message.envelope().body());
  }

  /** The text in a body made by {@link #body}. */
  public static String textOf(String body) {
    ByteBuffer bytes = ByteBuffer.wrap(Base64.getDecoder().decode(body));
    bytes.get();
    byte[] text = new byte[bytes.getShort()];
    bytes.get(text);
    return new String(text, StandardCharsets.UTF_8);
  }
}
