package io.parley.client;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.function.ToLongFunction;

/**
 * Puts a conversation's events into seq order, each seq once: an event is released when every earlier seq
 * has been, a later one is held back and its gap reported for a {@code fetch}, an earlier or repeated one
 * is dropped. Not thread-safe: the client drives it from its one worker thread.
 *
 * @param <E> the event type
 */
final class Sequencer<E> {
  /** The seqs {@code fromSeq..toSeq} are missing and should be fetched. */
  record Gap(String conversationId, long fromSeq, long toSeq) {}

  /** What an offered event changed: events now in order, and a gap to fetch, if a new one opened. */
  record Released<E>(List<E> events, Optional<Gap> gap) {}

  static final int MAX_FETCH = 500;

  private final ToLongFunction<String> initialCursor;
  private final Map<String, Long> next = new HashMap<>();
  private final Map<String, TreeMap<Long, E>> held = new HashMap<>();
  private final Map<String, Gap> fetching = new HashMap<>();

  /** {@code initialCursor}: the last seq already delivered, per conversation (0 for none). */
  Sequencer(ToLongFunction<String> initialCursor) {
    this.initialCursor = initialCursor;
  }

  /** The next seq the conversation expects. */
  long expected(String conversationId) {
    return next.computeIfAbsent(conversationId, id -> initialCursor.applyAsLong(id) + 1);
  }

  Released<E> offer(String conversationId, long seq, E event) {
    long expected = expected(conversationId);
    if (seq < expected) {
      return new Released<>(List.of(), Optional.empty());
    }
    TreeMap<Long, E> waiting = held.computeIfAbsent(conversationId, id -> new TreeMap<>());
    waiting.putIfAbsent(seq, event);
    List<E> released = drain(conversationId);
    return new Released<>(released, nextGap(conversationId));
  }

  /**
   * One of this device's own messages, known from its ack: the server sends the device no frame for it. It is
   * released in its place in the order, but opens no gap by itself: the ack travels apart from the frames
   * pushed before it, so the seqs below it may still be on their way.
   */
  Released<E> offerOwn(String conversationId, long seq, E event) {
    if (seq < expected(conversationId)) {
      return new Released<>(List.of(), Optional.empty());
    }
    held.computeIfAbsent(conversationId, id -> new TreeMap<>()).putIfAbsent(seq, event);
    return new Released<>(drain(conversationId), Optional.empty());
  }

  /**
   * The server has sent everything that exists for this device in {@code fromSeq..toSeq}: seqs of the range
   * still missing are not visible to this device (before it joined), so they are passed over.
   */
  Released<E> fetched(String conversationId, long fromSeq, long toSeq) {
    Gap pending = fetching.get(conversationId);
    if (pending != null && pending.fromSeq() == fromSeq && pending.toSeq() == toSeq) {
      fetching.remove(conversationId);
    }
    long expected = expected(conversationId);
    if (expected >= fromSeq && expected <= toSeq) {
      TreeMap<Long, E> waiting = held.getOrDefault(conversationId, new TreeMap<>());
      while (expected <= toSeq && !waiting.containsKey(expected)) {
        expected++;
      }
      next.put(conversationId, expected);
    }
    return new Released<>(drain(conversationId), nextGap(conversationId));
  }

  /**
   * A new connection replays from the cursors: held events and open fetches belong to the old one.
   * The expected seqs stay, so replayed events already released are dropped.
   */
  void reconnected() {
    held.clear();
    fetching.clear();
  }

  /** Gaps currently being fetched (to ask again after a reconnect, if still open). */
  List<Gap> openGaps() {
    return new ArrayList<>(fetching.values());
  }

  private List<E> drain(String conversationId) {
    TreeMap<Long, E> waiting = held.get(conversationId);
    List<E> released = new ArrayList<>();
    long expected = expected(conversationId);
    while (waiting != null && !waiting.isEmpty()) {
      Map.Entry<Long, E> first = waiting.firstEntry();
      if (first.getKey() < expected) {
        waiting.pollFirstEntry();
      } else if (first.getKey() == expected) {
        released.add(waiting.pollFirstEntry().getValue());
        expected++;
      } else {
        break;
      }
    }
    next.put(conversationId, expected);
    return released;
  }

  private Optional<Gap> nextGap(String conversationId) {
    TreeMap<Long, E> waiting = held.get(conversationId);
    if (waiting == null || waiting.isEmpty() || fetching.containsKey(conversationId)) {
      return Optional.empty();
    }
    long from = expected(conversationId);
    long to = Math.min(waiting.firstKey() - 1, from + MAX_FETCH - 1);
    Gap gap = new Gap(conversationId, from, to);
    fetching.put(conversationId, gap);
    return Optional.of(gap);
  }
}
