package io.parley.directory;

import io.parley.serialization.CborSerializable;
import java.util.Arrays;

/**
 * A signed prekey (EC, 33 bytes) or signed Kyber prekey (1,569 bytes): the public key and the identity
 * key's signature over it (64 bytes).
 */
public record SignedPreKey(int keyId, byte[] publicKey, byte[] signature) implements CborSerializable {

  @Override
  public boolean equals(Object other) {
    return other instanceof SignedPreKey p && p.keyId == keyId && Arrays.equals(p.publicKey, publicKey)
        && Arrays.equals(p.signature, signature);
  }

  @Override
  public int hashCode() {
    return 31 * (31 * keyId + Arrays.hashCode(publicKey)) + Arrays.hashCode(signature);
  }

  @Override
  public String toString() {
    return "SignedPreKey[" + keyId + "]";
  }
}
