package io.parley.client;

/**
 * An agent users can chat with: start a conversation with its {@code accountId}. The {@code frontDoor}
 * agent hands each message to the agent best suited to it and says so in the conversation.
 */
public record AgentInfo(String id, String displayName, String description, String accountId, boolean frontDoor) {}
