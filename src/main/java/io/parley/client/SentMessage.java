package io.parley.client;

/**
 * A send the server has stored: reported by {@link Listener#onSent} for every acknowledged send, including
 * sends recovered from the device store after a restart, whose futures are gone.
 *
 * @param duplicate true when the server had stored this idempotency key already (a retry after a lost ack)
 */
public record SentMessage(String conversationId, String idempotencyKey, long seq, boolean duplicate) {}
