package io.parley.agent.events;

/**
 * What an agent sent back, authenticated and parsed from a CloudEvent. {@code eventId} is the CloudEvent id,
 * the idempotency key of the reply.
 */
public sealed interface AgentReply {
  String agentId();

  String eventId();

  String conversationId();

  /** The reply, to be stored in the conversation (type {@code io.parley.reply.message}). */
  record Final(String agentId, String eventId, String conversationId, String text) implements AgentReply {}

  /** A piece of a streamed reply, shown live and never stored (type {@code io.parley.reply.partial}). */
  record Partial(String agentId, String eventId, String conversationId, String text) implements AgentReply {}

  /** The agent is (or stopped) working on a reply (type {@code io.parley.reply.typing}). */
  record Typing(String agentId, String eventId, String conversationId, boolean active) implements AgentReply {}
}
