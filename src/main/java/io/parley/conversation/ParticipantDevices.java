package io.parley.conversation;

import io.parley.directory.DeviceDirectory;
import java.util.Set;
import java.util.concurrent.CompletionStage;

/**
 * The participants' device lists as a conversation checks a message's envelopes against them: a node-local
 * cache that answers at once (an already completed stage) on every send, and the directory's current list
 * for when the cache disagrees with the sender.
 */
public interface ParticipantDevices {

  /** The account's devices from this node's cache: completed at once when cached, read through otherwise. */
  CompletionStage<Set<Integer>> cached(String accountId);

  /** The account's current devices from the directory (empty set: no devices); refreshes the cache. */
  CompletionStage<Set<Integer>> current(String accountId);

  /** The lists of {@code directory}, through its node-local cache. */
  static ParticipantDevices of(DeviceDirectory directory) {
    return new ParticipantDevices() {
      @Override
      public CompletionStage<Set<Integer>> cached(String accountId) {
        return directory.cachedDevices(accountId).thenApply(DeviceDirectory.DeviceList::devices);
      }

      @Override
      public CompletionStage<Set<Integer>> current(String accountId) {
        return directory.devices(accountId).thenApply(DeviceDirectory.DeviceList::devices);
      }
    };
  }
}
