package io.parley.conversation;

import io.parley.directory.DeviceDirectory;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * A directory and a node-local cache of device lists that can disagree, as a real cache can for a moment.
 * Every account has device 1 unless told otherwise; directory reads complete on another thread.
 */
final class FakeDevices implements DeviceDirectory {
  final Map<String, Set<Integer>> directory = new ConcurrentHashMap<>();
  final Map<String, Set<Integer>> cache = new ConcurrentHashMap<>();
  /** Accounts read from the directory, in order (read-throughs and refreshes). */
  final List<String> reads = new CopyOnWriteArrayList<>();
  volatile boolean unavailable;

  /** Sets the list in the directory and in the cache. */
  void set(String account, Integer... devices) {
    directory.put(account, Set.of(devices));
    cache.put(account, Set.of(devices));
  }

  Set<Integer> devicesOf(String account) {
    return directory.getOrDefault(account, Set.of(1));
  }

  @Override
  public CompletionStage<DeviceList> cachedDevices(String accountId) {
    Set<Integer> cached = cache.get(accountId);
    return cached != null ? CompletableFuture.completedFuture(deviceList(accountId, cached)) : devices(accountId);
  }

  @Override
  public CompletionStage<DeviceList> devices(String accountId) {
    reads.add(accountId);
    return CompletableFuture.supplyAsync(() -> {
      if (unavailable) {
        throw new IllegalStateException("directory unavailable");
      }
      Set<Integer> list = devicesOf(accountId);
      cache.put(accountId, list);
      return deviceList(accountId, list);
    });
  }

  private static DeviceList deviceList(String accountId, Set<Integer> devices) {
    return new DeviceList(accountId, new TreeSet<>(devices), 0);
  }
}
