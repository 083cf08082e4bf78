package io.parley.session;

import io.parley.conversation.Conversation;
import io.parley.conversation.ConversationEvent;
import io.parley.conversation.SealedEnvelope;
import io.parley.identity.DeviceAddress;
import io.parley.protocol.ServerFrame;
import java.util.Base64;
import java.util.List;

/** Turns a persisted conversation event into the frame one particular device receives. */
public final class EventFrames {
  private EventFrames() {}

  public static ServerFrame forDevice(ConversationEvent e, DeviceAddress device) {
    String id = e.conversationId();
    Conversation.Event event = e.event();
    if (event instanceof Conversation.MessagePosted m) {
      return new ServerFrame.Message(id, e.seq(), m.sender().user(), m.sender().device(), m.at(),
          envelopeFor(m.envelopes(), device));
    }
    if (event instanceof Conversation.Created c) {
      return new ServerFrame.Member(id, e.seq(), "created", c.by(), c.by(), c.participants(), c.at());
    }
    if (event instanceof Conversation.MemberAdded a) {
      return new ServerFrame.Member(id, e.seq(), "added", a.user(), a.by(), null, a.at());
    }
    Conversation.MemberRemoved r = (Conversation.MemberRemoved) event;
    return new ServerFrame.Member(id, e.seq(), "removed", r.user(), r.by(), null, r.at());
  }

  private static ServerFrame.Body envelopeFor(List<SealedEnvelope> envelopes, DeviceAddress device) {
    for (SealedEnvelope envelope : envelopes) {
      if (envelope.device() == device.device() && envelope.user().equals(device.user())) {
        return new ServerFrame.Body(envelope.type(), Base64.getEncoder().encodeToString(envelope.body()));
      }
    }
    return null;
  }
}
