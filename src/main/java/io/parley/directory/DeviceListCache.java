package io.parley.directory;

import java.time.Clock;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;

/**
 * This node's copy of recently used device lists: least recently used first out beyond
 * {@code maxAccounts}, and an entry older than {@code ttl} counts as absent. A list replaces the cached
 * one only if its version is not older, so a slow read cannot undo a newer change. Thread-safe.
 */
final class DeviceListCache {
  private record Entry(DeviceDirectory.DeviceList list, long storedAt) {}

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

  synchronized Optional<DeviceDirectory.DeviceList> get(String accountId) {
    Entry entry = entries.get(accountId);
    if (entry == null || clock.millis() - entry.storedAt() > ttlMillis) {
      return Optional.empty();
    }
    return Optional.of(entry.list());
  }

  synchronized void offer(DeviceDirectory.DeviceList list) {
    Entry existing = entries.get(list.accountId());
    if (existing == null || existing.list().version() <= list.version()) {
      entries.put(list.accountId(), new Entry(list, clock.millis()));
    }
  }

  synchronized int size() {
    return entries.size();
  }
}
