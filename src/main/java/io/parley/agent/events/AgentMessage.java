package io.parley.agent.events;

import java.time.Instant;

/**
 * A user's message on its way to an agent, decrypted by the gateway. {@code conversationId} and {@code seq}
 * name it uniquely (the CloudEvent id); {@code sender} is the sender's opaque account id.
 */
public record AgentMessage(String conversationId, long seq, String sender, int senderDevice, String text,
                           Instant sentAt) {

  /** The CloudEvent id: the same for every retry of this message. */
  public String eventId() {
    return conversationId + ":" + seq;
  }
}
