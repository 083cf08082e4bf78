package io.parley.conversation;

import io.parley.identity.DeviceAddress;
import io.parley.serialization.CborSerializable;

/** Ciphertext for one recipient device, as persisted. The body is opaque to the server. */
public record SealedEnvelope(String user, int device, int type, byte[] body) implements CborSerializable {
  public DeviceAddress recipient() {
    return new DeviceAddress(user, device);
  }
}
