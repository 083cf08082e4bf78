package io.parley.client;

import java.time.Instant;

/**
 * One message of a conversation, decrypted on this device. Delivered to {@link Listener#onMessage} once per
 * {@code seq}, in seq order within the conversation.
 *
 * @param conversationId the conversation
 * @param seq            its place in the conversation (1, 2, 3, … without gaps)
 * @param fromUser       the sender's account id
 * @param fromDevice     the sender's device
 * @param text           the decrypted text
 * @param sentAt         when the sender says it wrote the message (inside the encryption, the sender's clock)
 * @param storedAt       when the server stored it (the server's clock)
 */
public record DecryptedMessage(String conversationId, long seq, String fromUser, int fromDevice, String text,
                               Instant sentAt, Instant storedAt) {}
