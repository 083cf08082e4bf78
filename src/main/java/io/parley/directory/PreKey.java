package io.parley.directory;

import io.parley.serialization.CborSerializable;
import java.util.Arrays;

/** A one-time EC prekey as published by a device: libsignal's serialized public key (33 bytes). */
public record PreKey(int keyId, byte[] publicKey) implements CborSerializable {

  @Override
  public boolean equals(Object other) {
    return other instanceof PreKey p && p.keyId == keyId && Arrays.equals(p.publicKey, publicKey);
  }

  @Override
  public int hashCode() {
    return 31 * keyId + Arrays.hashCode(publicKey);
  }

  @Override
  public String toString() {
    return "PreKey[" + keyId + "]";
  }
}
