package io.parley.client;

/**
 * An ephemeral frame decrypted on this device, such as a partial reply an agent streams before its final
 * message: not stored by the server, without a seq, received only while connected, never delivered again.
 *
 * @param conversationId the conversation
 * @param fromUser       the sender's account id
 * @param fromDevice     the sender's device
 * @param text           the decrypted text
 */
public record EphemeralMessage(String conversationId, String fromUser, int fromDevice, String text) {}
