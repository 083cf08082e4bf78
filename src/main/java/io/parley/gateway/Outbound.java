package io.parley.gateway;

import java.util.ArrayList;
import java.util.List;
import org.apache.pekko.http.javadsl.model.ws.Message;
import org.apache.pekko.http.javadsl.model.ws.TextMessage;
import org.apache.pekko.stream.BoundedSourceQueue;
import org.apache.pekko.stream.QueueOfferResult;

/**
 * The frames queued for one WebSocket. At most {@code limit} frames wait in the queue for the socket to take
 * them; a client that lets more pile up is too slow and gets disconnected (it resumes from its cursors,
 * nothing is lost). A few extra slots are kept for the final frames of a close. The queue holds frames in
 * linked nodes: an idle socket's queue is empty, whatever the limit.
 *
 * <p>The connection gets its outbound before the socket's stream runs: the queue is attached when that
 * stream materializes (the queue is part of it, so one stream interpreter serves the whole socket). Frames
 * and a completion that come before are kept and handed to the queue when it is attached; in practice only
 * a hello timeout or a node shutdown can, as every other frame answers an inbound frame, which only a running
 * stream delivers.
 */
final class Outbound {
  static final int RESERVED_FOR_CLOSE = 4;

  private final int limit;
  private volatile BoundedSourceQueue<Message> queue;
  /** Frames offered before the queue was attached (guarded by this; null once attached). */
  private List<Message> early = new ArrayList<>(0);
  private boolean completeEarly;

  Outbound(int limit) {
    this.limit = limit;
  }

  /** The capacity the socket's queue needs: the limit plus the slots reserved for closing. */
  int capacity() {
    return limit + RESERVED_FOR_CLOSE;
  }

  /** The socket's stream materialized: frames go to {@code attached} from now on. */
  void attach(BoundedSourceQueue<Message> attached) {
    synchronized (this) {
      for (Message message : early) {
        attached.offer(message);
      }
      if (completeEarly) {
        attached.complete();
      }
      early = null;
      queue = attached;
    }
  }

  /** Whether the socket's stream has materialized (and will start). */
  boolean isAttached() {
    return queue != null;
  }

  /** Queues a frame; false when the client is too far behind. */
  boolean offer(String json) {
    BoundedSourceQueue<Message> attached = queue;
    if (attached != null && attached.size() >= limit) {
      return false;
    }
    return enqueue(json);
  }

  /** Queues one of the last frames before a close, using the reserved slots. */
  void offerFinal(String json) {
    enqueue(json);
  }

  void complete() {
    BoundedSourceQueue<Message> attached = queue;
    if (attached == null) {
      synchronized (this) {
        if (queue == null) {
          completeEarly = true;
          return;
        }
        attached = queue;
      }
    }
    try {
      attached.complete();
    } catch (IllegalStateException alreadyEnded) {
      // the socket's stream ended first (the client went away): nothing is left to complete
    }
  }

  private boolean enqueue(String json) {
    Message message = TextMessage.create(json);
    BoundedSourceQueue<Message> attached = queue;
    if (attached == null) {
      synchronized (this) {
        if (queue == null) {
          if (completeEarly || early.size() >= capacity()) {
            return false;
          }
          early.add(message);
          return true;
        }
        attached = queue;
      }
    }
    return attached.offer(message) == QueueOfferResult.enqueued();
  }
}
