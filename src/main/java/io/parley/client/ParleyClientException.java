package io.parley.client;

import java.util.List;

/**
 * Every failure the client reports, one subclass per kind, so an application can switch on the type.
 * Futures complete exceptionally with these (wrapped in a {@code CompletionException} by {@code join()});
 * failures that belong to no future go to {@link Listener#onError}.
 */
public abstract sealed class ParleyClientException extends RuntimeException {
  private final String conversationId;

  ParleyClientException(String message, String conversationId, Throwable cause) {
    super(message, cause);
    this.conversationId = conversationId;
  }

  /** The conversation the failure concerns, or null. */
  public String conversationId() {
    return conversationId;
  }

  /** A device of a message's sender (or of a recipient) presented an identity key other than the one trusted. */
  public static final class UntrustedIdentity extends ParleyClientException {
    private final String user;
    private final int device;

    public UntrustedIdentity(String user, int device, String conversationId, Throwable cause) {
      super("the identity key of a device of " + user + " changed; accept it with trustNewIdentity",
          conversationId, cause);
      this.user = user;
      this.device = device;
    }

    public String user() {
      return user;
    }

    public int device() {
      return device;
    }
  }

  /** A message could not be decrypted: tampered with, truncated, or for a session this device does not have. */
  public static final class DecryptionFailed extends ParleyClientException {
    private final long seq;
    private final String fromUser;
    private final int fromDevice;

    public DecryptionFailed(String conversationId, long seq, String fromUser, int fromDevice, String reason,
                            Throwable cause) {
      super("message " + seq + " could not be decrypted: " + reason, conversationId, cause);
      this.seq = seq;
      this.fromUser = fromUser;
      this.fromDevice = fromDevice;
    }

    public long seq() {
      return seq;
    }

    public String fromUser() {
      return fromUser;
    }

    public int fromDevice() {
      return fromDevice;
    }
  }

  /** A ciphertext this device had already decrypted arrived again under a new seq: a replay. */
  public static final class Replayed extends ParleyClientException {
    private final long seq;
    private final String fromUser;

    public Replayed(String conversationId, long seq, String fromUser, Throwable cause) {
      super("message " + seq + " replays a ciphertext already decrypted", conversationId, cause);
      this.seq = seq;
      this.fromUser = fromUser;
    }

    public long seq() {
      return seq;
    }

    public String fromUser() {
      return fromUser;
    }
  }

  /** A message from another device came without a ciphertext for this device (it was sent before this device existed, or the sender left it out). */
  public static final class NotEncryptedForDevice extends ParleyClientException {
    private final long seq;
    private final String fromUser;
    private final int fromDevice;

    public NotEncryptedForDevice(String conversationId, long seq, String fromUser, int fromDevice) {
      super("message " + seq + " carries no ciphertext for this device", conversationId, null);
      this.seq = seq;
      this.fromUser = fromUser;
      this.fromDevice = fromDevice;
    }

    public long seq() {
      return seq;
    }

    public String fromUser() {
      return fromUser;
    }

    public int fromDevice() {
      return fromDevice;
    }
  }

  /** A send still did not match the participants' devices after fetching keys and sending again. */
  public static final class DeviceMismatch extends ParleyClientException {
    private final List<String> unresolved;

    public DeviceMismatch(String conversationId, List<String> unresolved) {
      super("the recipients' devices kept changing; unresolved: " + unresolved.size(), conversationId, null);
      this.unresolved = List.copyOf(unresolved);
    }

    /** The devices still missing or stale at the last attempt, as {@code user:device}. */
    public List<String> unresolved() {
      return unresolved;
    }
  }

  /** The server refused the credentials, even after asking the token supplier for a fresh token. */
  public static final class Unauthorized extends ParleyClientException {
    public Unauthorized(String message, Throwable cause) {
      super(message, null, cause);
    }
  }

  /** The client stopped (closed, replaced or refused) while sends were unacknowledged; they stay stored and are sent again on the next start. */
  public static final class ConnectionLost extends ParleyClientException {
    private final int pendingSends;

    public ConnectionLost(String message, int pendingSends) {
      super(message + " with " + pendingSends + " send(s) unacknowledged", null, null);
      this.pendingSends = pendingSends;
    }

    public int pendingSends() {
      return pendingSends;
    }
  }

  /** Another connection of this device said hello; this client stops and does not reconnect. */
  public static final class SessionReplaced extends ParleyClientException {
    public SessionReplaced() {
      super("another connection of this device took over", null, null);
    }
  }

  /** The server answered a request with an error (docs/protocol.md, "Errors"). */
  public static final class ServerError extends ParleyClientException {
    private final String code;
    private final boolean retryable;

    public ServerError(String code, String message, boolean retryable, String conversationId) {
      super(code + ": " + message, conversationId, null);
      this.code = code;
      this.retryable = retryable;
    }

    /** The protocol's error code, such as {@code not_participant} or {@code unknown_handle}. */
    public String code() {
      return code;
    }

    public boolean retryable() {
      return retryable;
    }
  }

  /** The device store could not be opened or written: wrong key or passphrase, in use by another process, damaged. */
  public static final class StoreFailure extends ParleyClientException {
    public StoreFailure(String message, Throwable cause) {
      super(message, null, cause);
    }
  }

  /** The client was closed before the request could be answered. */
  public static final class Closed extends ParleyClientException {
    public Closed() {
      super("the client is closed", null, null);
    }
  }
}
