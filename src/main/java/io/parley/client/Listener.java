package io.parley.client;

/**
 * What a {@link ParleyClient} tells the application. Callbacks run one at a time on the client's delivery
 * thread, in order; a callback must not block on the client's futures. A message is acknowledged to the
 * server (and its cursor saved) only after {@link #onMessage} has returned; an exception thrown by a
 * callback does not stop the client, and the event still counts as delivered.
 */
public interface Listener {
  /** A decrypted message; once per seq, in seq order within its conversation. */
  default void onMessage(DecryptedMessage message) {}

  /** A membership change, in seq order with the messages of its conversation. */
  default void onMember(MemberEvent member) {}

  /** A delivered or read receipt from another participant. */
  default void onReceipt(Receipt receipt) {}

  default void onTyping(TypingEvent typing) {}

  /**
   * A decrypted ephemeral frame (see {@link ParleyClient#sendEphemeral}), as it arrives: outside the seq
   * order of messages and never repeated. One that cannot be decrypted goes to {@link #onError} (with seq 0)
   * and holds nothing up.
   */
  default void onEphemeral(EphemeralMessage message) {}

  /** A contact came online or went offline; also each contact's presence right after connecting. */
  default void onPresence(PresenceEvent presence) {}

  /** A send was stored by the server (also for sends recovered from the store after a restart). */
  default void onSent(SentMessage sent) {}

  default void onConnectionState(ConnectionState state) {}

  /**
   * Something failed that no future reports: a message that could not be decrypted, a tampered or replayed
   * ciphertext, a changed identity, a refused connection. Never a silent drop.
   */
  default void onError(ParleyClientException error) {}
}
