package io.parley.protocol;

import com.fasterxml.jackson.annotation.JsonValue;

/** What a receipt says about its reader: received on a device, or seen by the user. */
public enum ReceiptKind {
  DELIVERED("delivered"),
  READ("read");

  private final String wire;

  ReceiptKind(String wire) {
    this.wire = wire;
  }

  @JsonValue
  public String wire() {
    return wire;
  }
}
