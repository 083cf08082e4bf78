package io.parley.bench;

import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.LongAdder;
import org.HdrHistogram.Histogram;
import org.HdrHistogram.Recorder;

/**
 * What the agent bench saw, fed from the driver and the users' client threads. Every message is known by its
 * text (unique per run); times are nanoseconds on the bench's clock, passed in. Latencies run from when a
 * message was due (open loop: a late send counts) to its ack (the server stored it) and to the agent's reply
 * decrypted at the user (the round trip). Only messages due inside the measured window go into the
 * histograms (microseconds, 3 significant digits); replies/s counts replies that arrived inside the window.
 */
final class AgentBenchStats {
  /** One sent message. */
  private static final class Sent {
    final long due;
    volatile long ackedAt = -1;
    volatile long repliedAt = -1;

    Sent(long due) {
      this.due = due;
    }
  }

  /** The counts after a run. */
  record Counts(long sent, long acked, long sendFailures, long replies, long missing, long duplicates,
                long unknown, long handoffs, long sentMeasured, long repliesMeasured, long repliesInWindow,
                Map<String, Long> others) {}

  private final Map<String, Sent> sent = new ConcurrentHashMap<>();
  private final Recorder ack = new Recorder(3);
  private final Recorder roundTrip = new Recorder(3);
  private final LongAdder acked = new LongAdder();
  private final LongAdder sendFailures = new LongAdder();
  private final LongAdder replies = new LongAdder();
  private final LongAdder duplicates = new LongAdder();
  private final LongAdder unknown = new LongAdder();
  private final LongAdder handoffs = new LongAdder();
  private final LongAdder sentMeasured = new LongAdder();
  private final LongAdder repliesMeasured = new LongAdder();
  private final LongAdder repliesInWindow = new LongAdder();
  private final Map<String, LongAdder> others = new ConcurrentHashMap<>();
  private volatile long measureFrom = Long.MAX_VALUE;
  private volatile long measureTo = Long.MAX_VALUE;

  /** Messages due from {@code from} (inclusive) to {@code to} (exclusive) are measured. */
  void measureWindow(long from, long to) {
    measureFrom = from;
    measureTo = to;
  }

  private boolean inWindow(long at) {
    return at >= measureFrom && at < measureTo;
  }

  /** Call before the send goes out, so that an answer racing the call finds it. */
  void sent(String text, long due) {
    if (sent.putIfAbsent(text, new Sent(due)) != null) {
      throw new IllegalArgumentException("a text sent twice in one run");
    }
    if (inWindow(due)) {
      sentMeasured.increment();
    }
  }

  void acked(String text, long at) {
    Sent message = sent.get(text);
    if (message == null || message.ackedAt >= 0) {
      return;
    }
    message.ackedAt = at;
    acked.increment();
    if (inWindow(message.due)) {
      ack.recordValue(micros(at - message.due));
    }
  }

  void sendFailed(String text) {
    sendFailures.increment();
  }

  /** A message from the agent's device, decrypted at a user at {@code at}. */
  void fromAgent(AgentReplies.Reply reply, long at) {
    if (reply instanceof AgentReplies.Echo echo) {
      replied(echo.sent(), at);
    } else if (reply instanceof AgentReplies.Handoff) {
      handoffs.increment();
    } else {
      others.computeIfAbsent(AgentReplies.kind(reply), k -> new LongAdder()).increment();
    }
  }

  private void replied(String text, long at) {
    Sent message = sent.get(text);
    if (message == null) {
      unknown.increment();
      return;
    }
    synchronized (message) {
      if (message.repliedAt >= 0) {
        duplicates.increment();
        return;
      }
      message.repliedAt = at;
    }
    replies.increment();
    if (inWindow(at)) {
      repliesInWindow.increment();
    }
    if (inWindow(message.due)) {
      repliesMeasured.increment();
      roundTrip.recordValue(micros(at - message.due));
    }
  }

  /** Sent messages still without a reply. */
  long outstanding() {
    return sent.size() - replies.sum();
  }

  /** Sent messages still without an ack or a failure. */
  long unanswered() {
    return sent.size() - acked.sum() - sendFailures.sum();
  }

  Counts counts() {
    Map<String, Long> other = new TreeMap<>();
    others.forEach((kind, count) -> other.put(kind, count.sum()));
    return new Counts(sent.size(), acked.sum(), sendFailures.sum(), replies.sum(), outstanding(), duplicates.sum(),
        unknown.sum(), handoffs.sum(), sentMeasured.sum(), repliesMeasured.sum(), repliesInWindow.sum(), other);
  }

  /** Call once, at the end. */
  Histogram ackHistogram() {
    return ack.getIntervalHistogram();
  }

  /** Call once, at the end. */
  Histogram roundTripHistogram() {
    return roundTrip.getIntervalHistogram();
  }

  private static long micros(long nanos) {
    return Math.max(0, TimeUnit.NANOSECONDS.toMicros(nanos));
  }
}
