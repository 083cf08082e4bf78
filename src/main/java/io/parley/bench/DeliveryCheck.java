package io.parley.bench;

import java.util.BitSet;
import java.util.HashMap;
import java.util.Map;

/**
 * What one device saw of each conversation. A seq counts as seen when it arrives as a frame or as the
 * server's answer to this device's own send or create ({@code ack}/{@code created}): a server that no
 * longer echoes a device's own message back carries its seq in the ack instead, and an older server sends
 * both. Frames must come in increasing seq order: a frame at or below the highest frame seen is a repeat
 * (duplicate or out of order); a frame for a seq already seen through an ack is that ack's echo, not a
 * repeat. Acks travel apart from frames, so an ack may overtake the frames before it: whether a seq was
 * skipped is only judged at the end ({@link #gaps}, {@link #unseen}).
 */
final class DeliveryCheck {
  enum Seen { FIRST, ECHO_OF_OWN, REPEATED }

  private static final class Conversation {
    final BitSet seen = new BitSet();
    long highestFrame;
    long highestSeen;
  }

  private final Map<String, Conversation> conversations = new HashMap<>();
  private long repeated;

  /** A {@code message} or {@code member} frame with {@code seq} arrived. */
  synchronized Seen frame(String conversationId, long seq) {
    Conversation c = of(conversationId);
    if (seq <= c.highestFrame) {
      repeated++;
      return Seen.REPEATED;
    }
    c.highestFrame = seq;
    if (c.seen.get(index(seq))) {
      return Seen.ECHO_OF_OWN;
    }
    see(c, seq);
    return Seen.FIRST;
  }

  /** The server answered this device's own send (or create) with {@code seq}. */
  synchronized void own(String conversationId, long seq) {
    see(of(conversationId), seq);
  }

  /** The highest seq seen, as a frame or an ack. */
  synchronized long highestSeen(String conversationId) {
    Conversation c = conversations.get(conversationId);
    return c == null ? 0 : c.highestSeen;
  }

  /** Seqs from 1 to {@code upTo} not seen (yet). */
  synchronized long unseen(String conversationId, long upTo) {
    Conversation c = conversations.get(conversationId);
    if (c == null) {
      return Math.max(0, upTo);
    }
    return Math.max(0, upTo - c.seen.get(0, index(upTo) + 1).cardinality());
  }

  /** Seqs below the highest seen that were never seen: holes, as opposed to a tail not yet arrived. */
  synchronized long gaps() {
    long gaps = 0;
    for (Conversation c : conversations.values()) {
      gaps += c.highestSeen - c.seen.cardinality();
    }
    return gaps;
  }

  /** Frames whose seq was not above the last frame's (duplicates or out of order). */
  synchronized long repeated() {
    return repeated;
  }

  private Conversation of(String conversationId) {
    return conversations.computeIfAbsent(conversationId, id -> new Conversation());
  }

  private static void see(Conversation c, long seq) {
    c.seen.set(index(seq));
    c.highestSeen = Math.max(c.highestSeen, seq);
  }

  private static int index(long seq) {
    if (seq < 1 || seq > Integer.MAX_VALUE) {
      throw new IllegalArgumentException("seq out of range: " + seq);
    }
    return Math.toIntExact(seq - 1);
  }
}
