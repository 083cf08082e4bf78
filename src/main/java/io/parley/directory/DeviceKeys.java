package io.parley.directory;

import io.parley.serialization.CborSerializable;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Everything a device has published: its registration id, identity key, signed prekey, signed Kyber
 * last-resort prekey, and its one-time prekeys in the order they are handed out (oldest first).
 */
public record DeviceKeys(int registrationId, byte[] identityKey, SignedPreKey signedPreKey, SignedPreKey kyberPreKey,
                         List<PreKey> oneTimePreKeys) implements CborSerializable {

  public DeviceKeys {
    oneTimePreKeys = List.copyOf(oneTimePreKeys);
  }

  DeviceKeys withPreKeys(List<PreKey> added, SignedPreKey newSigned, SignedPreKey newKyber) {
    List<PreKey> all = new ArrayList<>(oneTimePreKeys);
    all.addAll(added);
    return new DeviceKeys(registrationId, identityKey, newSigned != null ? newSigned : signedPreKey,
        newKyber != null ? newKyber : kyberPreKey, all);
  }

  DeviceKeys withoutPreKey(int keyId) {
    return new DeviceKeys(registrationId, identityKey, signedPreKey, kyberPreKey,
        oneTimePreKeys.stream().filter(k -> k.keyId() != keyId).toList());
  }

  @Override
  public boolean equals(Object other) {
    return other instanceof DeviceKeys k && k.registrationId == registrationId
        && Arrays.equals(k.identityKey, identityKey) && k.signedPreKey.equals(signedPreKey)
        && k.kyberPreKey.equals(kyberPreKey) && k.oneTimePreKeys.equals(oneTimePreKeys);
  }

  @Override
  public int hashCode() {
    return Arrays.hashCode(identityKey) * 31 + registrationId;
  }

  @Override
  public String toString() {
    return "DeviceKeys[oneTimePreKeys=" + oneTimePreKeys.size() + "]";
  }
}
