package io.parley.directory;

import io.parley.identity.DeviceAddress;
import io.parley.inbox.Inbox;
import io.parley.session.DeviceSession;
import java.util.function.Consumer;
import org.apache.pekko.cluster.sharding.typed.javadsl.ClusterSharding;

/**
 * Tells the rest of the cluster about directory changes: list changes go to every node's device-list
 * cache; a low prekey count goes to the device's session (which pushes {@code keysLow} to a live
 * connection); an unlinked device is forgotten by its user's inbox and its live connection is closed.
 * All of it is at-most-once: a lost notice costs a stale cache entry until the next change or expiry, a
 * {@code keysLow} that comes again after the next {@code welcome} or claim, or a connection that is
 * refused at its next hello.
 */
final class ClusterDirectoryNotices implements DirectoryNotices {
  private final ClusterSharding sharding;
  private final Consumer<DeviceDirectory.DeviceList> publish;

  ClusterDirectoryNotices(ClusterSharding sharding, Consumer<DeviceDirectory.DeviceList> publish) {
    this.sharding = sharding;
    this.publish = publish;
  }

  @Override
  public void listChanged(DeviceDirectory.DeviceList list) {
    publish.accept(list);
  }

  @Override
  public void keysLow(String accountId, int device, int remaining) {
    session(accountId, device).tell(new DeviceSession.KeysLow(remaining));
  }

  @Override
  public void deviceRemoved(String accountId, int device) {
    sharding.entityRefFor(Inbox.ENTITY_KEY, accountId).tell(new Inbox.RemoveDevice(device));
    session(accountId, device).tell(DeviceSession.Unlink.INSTANCE);
  }

  private org.apache.pekko.cluster.sharding.typed.javadsl.EntityRef<DeviceSession.Command> session(String accountId,
                                                                                                   int device) {
    return sharding.entityRefFor(DeviceSession.ENTITY_KEY, new DeviceAddress(accountId, device).entityId());
  }
}
