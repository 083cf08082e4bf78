package io.parley.identity;

/** One device of one account: the unit that receives its own ciphertext and keeps its own cursors. */
public record DeviceAddress(String user, int device) {
  public String entityId() {
    return user + "." + device;
  }

  public static DeviceAddress fromEntityId(String entityId) {
    int dot = entityId.lastIndexOf('.');
    return new DeviceAddress(entityId.substring(0, dot), Integer.parseInt(entityId.substring(dot + 1)));
  }
}
