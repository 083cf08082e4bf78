package io.parley.directory;

/** What an account's key directory tells the rest of the cluster after it has persisted a change. */
public interface DirectoryNotices {

  /** The account's device list changed (a device was added or removed). */
  void listChanged(DeviceDirectory.DeviceList list);

  /** A claim left the device with fewer one-time prekeys than the low mark. */
  void keysLow(String accountId, int device, int remaining);

  /** The device was unlinked: its keys are gone. */
  void deviceRemoved(String accountId, int device);
}
