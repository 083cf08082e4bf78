package io.parley.agent.events;

import com.fasterxml.jackson.annotation.JsonSubTypes;
import com.fasterxml.jackson.annotation.JsonTypeInfo;
import io.parley.serialization.CborSerializable;

/**
 * What an agent sent back, authenticated and parsed from a CloudEvent. {@code eventId} is the CloudEvent id,
 * the idempotency key of the reply.
 */
@JsonTypeInfo(use = JsonTypeInfo.Id.NAME, property = "kind")
@JsonSubTypes({
  @JsonSubTypes.Type(value = AgentReply.Final.class, name = "message"),
  @JsonSubTypes.Type(value = AgentReply.Partial.class, name = "partial"),
  @JsonSubTypes.Type(value = AgentReply.Typing.class, name = "typing")
})
public sealed interface AgentReply extends CborSerializable {
  String agentId();

  String eventId();

  String conversationId();

  /** The reply's kind as metrics and logs name it: message, partial or typing. */
  String kind();

  /** The reply, to be stored in the conversation (type {@code io.parley.reply.message}). */
  record Final(String agentId, String eventId, String conversationId, String text) implements AgentReply {
    @Override
    public String kind() {
      return "message";
    }
  }

  /** A piece of a streamed reply, shown live and never stored (type {@code io.parley.reply.partial}). */
  record Partial(String agentId, String eventId, String conversationId, String text) implements AgentReply {
    @Override
    public String kind() {
      return "partial";
    }
  }

  /** The agent is (or stopped) working on a reply (type {@code io.parley.reply.typing}). */
  record Typing(String agentId, String eventId, String conversationId, boolean active) implements AgentReply {
    @Override
    public String kind() {
      return "typing";
    }
  }
}
