package io.parley.gateway;

import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The frames queued for one WebSocket. At most {@code limit} frames wait for the socket to take them; a client
 * that lets more pile up is too slow and gets disconnected (it resumes from its cursors, nothing is lost). A few
 * extra slots are kept for the final frames of a close. The queue holds frames in linked nodes: an idle socket's
 * queue is empty, whatever the limit.
 *
 * <p>The connection offers frames from its actor; the socket's stream ({@link SocketStage}) takes them. Frames
 * and a completion that come before the stream runs wait here until it attaches; in practice only a hello
 * timeout or a node shutdown can, as every other frame answers an inbound frame, which only a running stream
 * delivers. The stream is woken at most once per batch of offers: an offer schedules a wake-up only when none is
 * pending.
 */
final class Outbound {
  static final int RESERVED_FOR_CLOSE = 4;

  private final int limit;
  private final ConcurrentLinkedQueue<String> frames = new ConcurrentLinkedQueue<>();
  private final AtomicInteger size = new AtomicInteger();
  private final AtomicBoolean wakePending = new AtomicBoolean();
  /** No more frames are taken: the connection completed the socket, or the socket's stream ended. */
  private volatile boolean closed;
  private volatile Runnable wake;

  Outbound(int limit) {
    this.limit = limit;
  }

  /** The socket's stream runs: {@code onFrames} is called (on any thread) when frames or the completion wait. */
  void attach(Runnable onFrames) {
    wake = onFrames;
    signal();
  }

  /** Whether the socket's stream has started (its end will come). */
  boolean isAttached() {
    return wake != null;
  }

  /** Queues a frame; false when the client is too far behind (or the socket has ended). */
  boolean offer(String json) {
    return size.get() < limit && enqueue(json);
  }

  /** Queues one of the last frames before a close, using the reserved slots. */
  void offerFinal(String json) {
    enqueue(json);
  }

  /** The connection has sent its last frame: the socket closes once the queue is written. */
  void complete() {
    closed = true;
    signal();
  }

  // ---- the socket's side ----

  /** The next frame to write, or null. */
  String poll() {
    String frame = frames.poll();
    if (frame != null) {
      size.decrementAndGet();
    }
    return frame;
  }

  /**
   * Whether no frame is left to write: the connection completed the socket (or the socket's stream ended) and every
   * frame queued before has been taken.
   */
  boolean isCompleted() {
    return closed && frames.isEmpty();
  }

  /** The socket's stream ended: later offers are refused. */
  void close() {
    closed = true;
  }

  /** The socket's stream is handling a wake-up: offers from now on schedule the next one. */
  void woken() {
    wakePending.set(false);
  }

  private boolean enqueue(String json) {
    if (closed || size.get() >= limit + RESERVED_FOR_CLOSE) {
      return false;
    }
    size.incrementAndGet();
    frames.add(json);
    signal();
    return true;
  }

  private void signal() {
    Runnable onFrames = wake;
    if (onFrames != null && wakePending.compareAndSet(false, true)) {
      onFrames.run();
    }
  }
}
