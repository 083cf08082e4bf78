package io.parley.gateway;

import io.parley.observability.Metrics;
import io.parley.protocol.ErrorCode;
import io.parley.protocol.FrameCodec;
import io.parley.protocol.ServerFrame;

/**
 * The frames one connection sends its client, ending with the close. Nothing is queued after the close, and
 * the socket is completed once: a later close (the too-slow one included) finds it closed and does nothing.
 */
final class ClientSocket {
  private final Outbound outbound;
  private final FrameCodec codec;
  private boolean closed;

  ClientSocket(Outbound outbound, FrameCodec codec) {
    this.outbound = outbound;
    this.codec = codec;
  }

  /** Queues a frame; a client too far behind is closed with {@code too_slow} instead. */
  void send(ServerFrame frame) {
    if (closed) {
      return;
    }
    if (frame instanceof ServerFrame.Error error && error.idempotencyKey() != null) {
      Metrics.rejected(error.code());
    }
    if (!outbound.offer(codec.encode(frame))) {
      close(ServerFrame.Error.of(ErrorCode.TOO_SLOW, "client is too far behind; resume from your cursors"),
          Connection.CLOSE_TOO_SLOW, "too_slow");
    }
  }

  /** Queues {@code last} (if any), then the close frame, then completes the socket. */
  void close(ServerFrame last, int closeCode, String reason) {
    if (closed) {
      return;
    }
    closed = true;
    if (last != null) {
      outbound.offerFinal(codec.encode(last));
    }
    outbound.offerFinal(codec.encode(new ServerFrame.Close(closeCode, reason)));
    outbound.complete();
  }

  boolean isClosed() {
    return closed;
  }

  /** Whether the socket's stream has started: its end will come. */
  boolean hasStream() {
    return outbound.isAttached();
  }
}
