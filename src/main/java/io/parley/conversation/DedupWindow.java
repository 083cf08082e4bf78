package io.parley.conversation;

import io.parley.serialization.CborSerializable;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import scala.Option;
import scala.collection.immutable.HashMap;
import scala.collection.immutable.HashMap$;
import scala.collection.immutable.Vector;
import scala.collection.immutable.Vector$;

/**
 * The idempotency keys a conversation remembers, with the seq each one was given.
 *
 * <p>Bounded two ways: a key is forgotten once it is older than the window, and beyond {@code maxKeys}
 * entries the oldest key is forgotten first. A forgotten key is accepted again as a new message. Persistent
 * (structurally shared) collections keep every update O(log n) while the state stays immutable, so a
 * snapshot taken of an older state is never changed underneath its serializer. The order is a Vector, not a
 * Queue: an immutable Queue that is only appended to finds its head by walking all of it, every time.
 */
public final class DedupWindow {
  /** One remembered key; {@code at} is the epoch millisecond of the event that used it. */
  public record Entry(String key, long seq, long at) implements CborSerializable {}

  private static final DedupWindow EMPTY = new DedupWindow(emptyMap(), emptyVector());

  private final HashMap<String, Entry> byKey;
  private final Vector<Entry> oldestFirst;

  private DedupWindow(HashMap<String, Entry> byKey, Vector<Entry> oldestFirst) {
    this.byKey = byKey;
    this.oldestFirst = oldestFirst;
  }

  public static DedupWindow empty() {
    return EMPTY;
  }

  public static DedupWindow of(List<Entry> entriesOldestFirst) {
    DedupWindow window = EMPTY;
    for (Entry entry : entriesOldestFirst) {
      window = window.put(entry);
    }
    return window;
  }

  /** The entry for {@code key} if it is still inside the window at {@code now}. */
  public Optional<Entry> find(String key, long now, Duration window) {
    Option<Entry> found = byKey.get(key);
    if (found.isEmpty() || found.get().at() < now - window.toMillis()) {
      return Optional.empty();
    }
    return Optional.of(found.get());
  }

  /** Remembers {@code key}, then forgets what has left the window or exceeds the bound. */
  public DedupWindow remember(String key, long seq, long at, Duration window, int maxKeys) {
    return put(new Entry(key, seq, at)).evict(at - window.toMillis(), maxKeys);
  }

  public int size() {
    return byKey.size();
  }

  public List<Entry> entriesOldestFirst() {
    List<Entry> entries = new ArrayList<>(oldestFirst.size());
    oldestFirst.foreach(entry -> {
      if (isCurrent(entry)) {
        entries.add(entry);
      }
      return null;
    });
    return entries;
  }

  private DedupWindow put(Entry entry) {
    return new DedupWindow(byKey.updated(entry.key(), entry), append(oldestFirst, entry));
  }

  private DedupWindow evict(long notBefore, int maxKeys) {
    HashMap<String, Entry> keys = byKey;
    Vector<Entry> queue = oldestFirst;
    while (!queue.isEmpty()) {
      Entry oldest = queue.head();
      boolean superseded = !keys.get(oldest.key()).contains(oldest);
      if (!superseded && oldest.at() >= notBefore && keys.size() <= maxKeys) {
        break;
      }
      queue = queue.tail();
      if (!superseded) {
        keys = keys.removed(oldest.key());
      }
    }
    return new DedupWindow(keys, queue);
  }

  private boolean isCurrent(Entry entry) {
    return byKey.get(entry.key()).contains(entry);
  }

  @SuppressWarnings("unchecked")
  private static HashMap<String, Entry> emptyMap() {
    return (HashMap<String, Entry>) (HashMap<?, ?>) HashMap$.MODULE$.empty();
  }

  // javac sees Vector.appended twice (Scala's mixin forwarder); :+ is the same operation
  @SuppressWarnings("unchecked")
  private static Vector<Entry> append(Vector<Entry> vector, Entry entry) {
    return (Vector<Entry>) vector.$colon$plus(entry);
  }

  @SuppressWarnings("unchecked")
  private static Vector<Entry> emptyVector() {
    return (Vector<Entry>) (Vector<?>) Vector$.MODULE$.empty();
  }

  @Override
  public String toString() {
    return "DedupWindow(" + size() + " keys)";
  }
}
