package io.parley.agent.events;

/**
 * The CloudEvents contract between Parley and agent services (docs/agents.md, docs/adr/0019): event types,
 * extension attributes and HTTP headers, named once.
 */
public final class ParleyEvents {

  /** A user's message to the agent (Parley → agent). Its id is {@code <conversationId>:<seq>}. */
  public static final String MESSAGE_CREATED = "io.parley.message.created";
  /** The agent's reply, stored in the conversation (agent → Parley). Data {@code {"text": ...}}. */
  public static final String REPLY_MESSAGE = "io.parley.reply.message";
  /** The reply so far while the agent streams, shown live and never stored. Data {@code {"text": ...}}. */
  public static final String REPLY_PARTIAL = "io.parley.reply.partial";
  /** The agent is (or stopped) working on a reply. Data {@code {"active": true|false}}. */
  public static final String REPLY_TYPING = "io.parley.reply.typing";

  /** The source of every event Parley sends. */
  public static final String SOURCE = "/parley";

  public static final String EXT_CONVERSATION = "parleyconversation";
  public static final String EXT_SEQ = "parleyseq";
  public static final String EXT_SENDER = "parleysender";

  /** Unix seconds at signing; part of the MAC input, so a captured request replays for minutes at most. */
  public static final String HEADER_TIMESTAMP = "X-Parley-Timestamp";
  /** {@code sha256=<hex HMAC-SHA256(secret, timestamp + "." + body)>}. */
  public static final String HEADER_SIGNATURE = "X-Parley-Signature";

  public static final String JSON = "application/json";
  public static final String STRUCTURED_JSON = "application/cloudevents+json";

  private ParleyEvents() {}
}
