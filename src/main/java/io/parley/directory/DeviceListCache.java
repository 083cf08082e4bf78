package io.parley.directory;

import java.time.Clock;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ThreadLocalRandom;

/**
 * This node's copy of recently used device lists: least recently used first out beyond {@code maxAccounts}, and
 * an entry older than {@code ttl} counts as absent. A list replaces the cached one only if its version is not
 * older, so a slow read cannot undo a newer change. Thread-safe.
 *
 * <p>Changes reach the cache over the cluster's topic; the ttl only bounds how long a lost change could go
 * unnoticed. An entry in use is read again before it expires: once past its refresh time, a moment between half
 * and three quarters of its ttl chosen for each entry, it is still served while one caller reads it again in the
 * background ({@link Cached#refresh}), which leaves at least a quarter of the ttl for that read to happen. So lists cached together (a burst of connects, a node's start) are not all read again
 * in the same second, which made every account's directory recover at once and stalled sends.
 */
final class DeviceListCache {
  /** A cached list, and whether the caller should read it again (one caller per entry and refresh). */
  record Cached(DeviceDirectory.DeviceList list, boolean refresh) {}

  private static final class Entry {
    final DeviceDirectory.DeviceList list;
    final long refreshAt;
    final long expiresAt;
    boolean refreshing;

    Entry(DeviceDirectory.DeviceList list, long refreshAt, long expiresAt) {
      this.list = list;
      this.refreshAt = refreshAt;
      this.expiresAt = expiresAt;
    }
  }

  private final Clock clock;
  private final long ttlMillis;
  private final LinkedHashMap<String, Entry> entries;

  DeviceListCache(int maxAccounts, Duration ttl, Clock clock) {
    this.clock = clock;
    this.ttlMillis = ttl.toMillis();
    this.entries = new LinkedHashMap<>(16, 0.75f, true) {
      @Override
      protected boolean removeEldestEntry(Map.Entry<String, Entry> eldest) {
        return size() > maxAccounts;
      }
    };
  }

  synchronized Optional<Cached> get(String accountId) {
    Entry entry = entries.get(accountId);
    long now = clock.millis();
    if (entry == null || now >= entry.expiresAt) {
      return Optional.empty();
    }
    boolean refresh = now >= entry.refreshAt && !entry.refreshing;
    if (refresh) {
      entry.refreshing = true;
    }
    return Optional.of(new Cached(entry.list, refresh));
  }

  synchronized void offer(DeviceDirectory.DeviceList list) {
    Entry existing = entries.get(list.accountId());
    if (existing == null || existing.list.version() <= list.version()) {
      long now = clock.millis();
      long spread = Math.max(1, ttlMillis / 4);
      long refreshAt = now + ttlMillis / 2 + ThreadLocalRandom.current().nextLong(spread);
      entries.put(list.accountId(), new Entry(list, refreshAt, now + ttlMillis));
    } else {
      existing.refreshing = false; // a read that came back older than what a change brought meanwhile
    }
  }

  /** A refresh that failed: the next caller tries again. */
  synchronized void refreshFailed(String accountId) {
    Entry entry = entries.get(accountId);
    if (entry != null) {
      entry.refreshing = false;
    }
  }

  synchronized int size() {
    return entries.size();
  }
}
