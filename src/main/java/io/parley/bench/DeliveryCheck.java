package io.parley.bench;

import java.util.HashMap;
import java.util.Map;

/**
 * What one device saw of each conversation: the protocol promises every seq once and in order, so a
 * seq other than the next one is either a repeat (duplicate or out of order) or skips some (a gap).
 */
final class DeliveryCheck {
  enum Seen { NEXT, REPEATED, SKIPPED }

  private final Map<String, Long> lastSeq = new HashMap<>();
  private long repeated;
  private long skipped;

  synchronized Seen observe(String conversationId, long seq) {
    long last = lastSeq.getOrDefault(conversationId, 0L);
    if (seq <= last) {
      repeated++;
      return Seen.REPEATED;
    }
    lastSeq.put(conversationId, seq);
    if (seq == last + 1) {
      return Seen.NEXT;
    }
    skipped += seq - last - 1;
    return Seen.SKIPPED;
  }

  synchronized long lastSeq(String conversationId) {
    return lastSeq.getOrDefault(conversationId, 0L);
  }

  /** Frames whose seq was not above the last one seen (duplicates or out of order). */
  synchronized long repeated() {
    return repeated;
  }

  /** Seqs jumped over when a later one arrived first. */
  synchronized long skipped() {
    return skipped;
  }
}
