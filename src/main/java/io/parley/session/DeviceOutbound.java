package io.parley.session;

import io.parley.protocol.ServerFrame;
import io.parley.serialization.CborSerializable;

/** What a device session sends to the connection it is bound to. */
public sealed interface DeviceOutbound extends CborSerializable {

  /** The session is bound to this connection; frames pushed after this one are live. */
  record Attached(org.apache.pekko.actor.typed.ActorRef<DeviceSession.Command> session) implements DeviceOutbound {}

  /** Send this frame to the client. */
  record Push(ServerFrame frame) implements DeviceOutbound {}

  /** Another connection of the same device took over: close this one. */
  record Displaced() implements DeviceOutbound {}

  /** The device was unlinked from the key directory: close this connection with unknown_device. */
  record Unlinked() implements DeviceOutbound {}

  /** The session stopped (moved to another node or passivated): the client should reconnect and resume. */
  record SessionEnded() implements DeviceOutbound {}
}
