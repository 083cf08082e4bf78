package io.parley.directory;

import java.util.SortedSet;
import java.util.concurrent.CompletionStage;

/**
 * The authoritative list of an account's devices, as held by the key directory. A device exists exactly
 * when it has published keys.
 */
public interface DeviceDirectory {

  /** The account's current devices (empty when it has none), read from the account's single writer. */
  CompletionStage<DeviceList> devices(String accountId);

  /**
   * The account's devices from this node's cache, read through {@link #devices} on a miss. Every change of
   * a list is published cluster-wide and replaces the cached copy on every node, but a change can reach a
   * node late: a caller that finds the list disagreeing with what a client sent asks {@link #devices}
   * (which also refreshes the cache) before rejecting anything.
   */
  CompletionStage<DeviceList> cachedDevices(String accountId);

  /** An account's device ids at a version that increases with every change of the list. */
  record DeviceList(String accountId, SortedSet<Integer> devices, long version) {}
}
