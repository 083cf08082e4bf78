package io.parley.gateway;

import static org.assertj.core.api.Assertions.assertThat;

import io.parley.protocol.ClientFrame;
import io.parley.protocol.ServerFrame;
import io.parley.testing.WsClient;
import java.util.UUID;

/** Assertions shared by the bad input tests: the error a client gets, that it stays connected or is closed. */
final class BadInputAssertions {
  private BadInputAssertions() {}

  /** The client's very next frame is a non-retryable error with {@code code}. */
  static ServerFrame.Error nextError(WsClient client, String code) {
    ServerFrame.Error error = client.next(ServerFrame.Error.class);
    assertThat(error.code()).isEqualTo(code);
    assertThat(error.retryable()).as("%s is not retryable", code).isFalse();
    assertThat(error.message()).isNotBlank();
    return error;
  }

  static void assertEchoes(ServerFrame.Error error, String requestId, String conversationId, String idempotencyKey) {
    assertThat(error.requestId()).as("requestId").isEqualTo(requestId);
    assertThat(error.conversationId()).as("conversationId").isEqualTo(conversationId);
    assertThat(error.idempotencyKey()).as("idempotencyKey").isEqualTo(idempotencyKey);
  }

  /** The connection still answers: a ping gets its pong, as the very next frame. */
  static void assertAlive(WsClient client) {
    String nonce = UUID.randomUUID().toString();
    client.send(new ClientFrame.Ping(nonce));
    assertThat(client.next(ServerFrame.Pong.class).nonce()).isEqualTo(nonce);
    assertThat(client.isClosed()).isFalse();
  }

  /** The server ends with a {@code close} frame carrying {@code code}, then closes the socket normally. */
  static void assertClosedWith(WsClient client, int code) {
    ServerFrame.Close close = client.next(ServerFrame.Close.class);
    assertThat(close.code()).isEqualTo(code);
    assertThat(close.reason()).isNotBlank();
    assertThat(client.awaitClose()).isEqualTo(1000);
  }
}
