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

  /** An account's device ids at a version that increases with every change of the list. */
  record DeviceList(String accountId, SortedSet<Integer> devices, long version) {}
}
