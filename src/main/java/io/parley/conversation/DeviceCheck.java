package io.parley.conversation;

import io.parley.identity.DeviceAddress;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Compares a message's envelopes with the devices its participants have: one envelope for every device of
 * every participant except the sending device, and none for devices that do not exist.
 */
final class DeviceCheck {
  private static final Comparator<DeviceAddress> ORDER =
      Comparator.comparing(DeviceAddress::user).thenComparingInt(DeviceAddress::device);

  /** Devices without an envelope, and envelopes for devices that do not exist, each sorted. */
  record Mismatch(List<DeviceAddress> missing, List<DeviceAddress> stale) {
    boolean isEmpty() {
      return missing.isEmpty() && stale.isEmpty();
    }

    /** The accounts whose lists disagree with the envelopes. */
    Set<String> accounts() {
      Set<String> accounts = new LinkedHashSet<>();
      missing.forEach(d -> accounts.add(d.user()));
      stale.forEach(d -> accounts.add(d.user()));
      return accounts;
    }
  }

  private DeviceCheck() {}

  /**
   * Checks the participants whose lists are in {@code devices}; the others are left out of the comparison.
   * The envelopes are already known to address distinct participant devices other than the sender.
   */
  static Mismatch compare(DeviceAddress sender, List<SealedEnvelope> envelopes, Map<String, Set<Integer>> devices) {
    Set<DeviceAddress> addressed = new HashSet<>();
    envelopes.forEach(envelope -> addressed.add(envelope.recipient()));
    List<DeviceAddress> missing = new ArrayList<>();
    List<DeviceAddress> stale = new ArrayList<>();
    devices.forEach((user, list) -> {
      for (int device : list) {
        DeviceAddress address = new DeviceAddress(user, device);
        if (!address.equals(sender) && !addressed.contains(address)) {
          missing.add(address);
        }
      }
    });
    for (DeviceAddress address : addressed) {
      Set<Integer> list = devices.get(address.user());
      if (list != null && !list.contains(address.device())) {
        stale.add(address);
      }
    }
    missing.sort(ORDER);
    stale.sort(ORDER);
    return new Mismatch(List.copyOf(missing), List.copyOf(stale));
  }
}
