package io.parley.agent.registry;

import io.parley.agent.RegistrySnapshot;
import io.parley.serialization.CborSerializable;
import java.util.Arrays;
import org.apache.pekko.cluster.ddata.Key;
import org.apache.pekko.cluster.ddata.LWWRegister;
import org.apache.pekko.cluster.ddata.LWWRegisterKey;

/**
 * A registry snapshot as Distributed Data carries it: its version beside the gzipped JSON. It lives in an
 * {@link LWWRegister} whose clock is the snapshot's version, so every replica converges on the highest version
 * whatever order updates and gossip arrive in (docs/adr/0016).
 */
public record DistributedSnapshot(long version, byte[] gzippedJson) implements CborSerializable {

  public static final Key<LWWRegister<DistributedSnapshot>> KEY = LWWRegisterKey.create("parley-agent-registry");

  /** The register's timestamp is the version: the higher version wins every merge. */
  static final LWWRegister.Clock<DistributedSnapshot> VERSION_CLOCK = (current, value) -> value.version();

  public static DistributedSnapshot of(RegistrySnapshot snapshot) {
    return new DistributedSnapshot(snapshot.version(), SnapshotCodec.toGzip(snapshot));
  }

  public RegistrySnapshot snapshot() {
    return SnapshotCodec.fromGzip(gzippedJson);
  }

  @Override
  public boolean equals(Object other) {
    return other instanceof DistributedSnapshot that && version == that.version
        && Arrays.equals(gzippedJson, that.gzippedJson);
  }

  @Override
  public int hashCode() {
    return Long.hashCode(version) * 31 + Arrays.hashCode(gzippedJson);
  }

  @Override
  public String toString() {
    return "DistributedSnapshot[version=" + version + ", " + gzippedJson.length + " bytes]";
  }
}
