package io.parley.inbox;

import io.parley.conversation.ConversationEvent;
import io.parley.identity.DeviceAddress;

/**
 * Where an inbox hands the membership events of its user's conversations to each of the user's devices;
 * implemented by the device sessions, so that the inbox does not depend on them.
 */
@FunctionalInterface
public interface DeviceDelivery {

  /** {@code fromSeq}: the seq from which the user sees the conversation. */
  void deliver(DeviceAddress device, ConversationEvent event, long fromSeq);
}
