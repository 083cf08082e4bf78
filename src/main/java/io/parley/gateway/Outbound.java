package io.parley.gateway;

import java.util.concurrent.atomic.AtomicLong;
import org.apache.pekko.http.javadsl.model.ws.TextMessage;
import org.apache.pekko.stream.BoundedSourceQueue;
import org.apache.pekko.stream.QueueOfferResult;

/**
 * The frames queued for one WebSocket. At most {@code limit} frames wait for the socket; a client that
 * lets more pile up is too slow and gets disconnected (it resumes from its cursors, nothing is lost).
 * A few extra slots are kept for the final frames of a close.
 */
final class Outbound {
  static final int RESERVED_FOR_CLOSE = 4;

  private final BoundedSourceQueue<org.apache.pekko.http.javadsl.model.ws.Message> queue;
  private final AtomicLong written;
  private final int limit;
  private long offered;

  Outbound(BoundedSourceQueue<org.apache.pekko.http.javadsl.model.ws.Message> queue, AtomicLong written, int limit) {
    this.queue = queue;
    this.written = written;
    this.limit = limit;
  }

  /** Queues a frame; false when the client is too far behind. */
  boolean offer(String json) {
    if (offered - written.get() >= limit) {
      return false;
    }
    return enqueue(json);
  }

  /** Queues one of the last frames before a close, using the reserved slots. */
  void offerFinal(String json) {
    enqueue(json);
  }

  void complete() {
    queue.complete();
  }

  private boolean enqueue(String json) {
    QueueOfferResult result = queue.offer(TextMessage.create(json));
    if (result == QueueOfferResult.enqueued()) {
      offered++;
      return true;
    }
    return false;
  }
}
