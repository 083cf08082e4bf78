package io.parley.protocol;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonSubTypes;
import com.fasterxml.jackson.annotation.JsonTypeInfo;
import io.parley.serialization.CborSerializable;
import java.util.List;

/** Frames the server sends over the WebSocket; see docs/protocol.md. */
@JsonTypeInfo(use = JsonTypeInfo.Id.NAME, property = "type")
@JsonSubTypes({
  @JsonSubTypes.Type(value = ServerFrame.Welcome.class, name = "welcome"),
  @JsonSubTypes.Type(value = ServerFrame.Ack.class, name = "ack"),
  @JsonSubTypes.Type(value = ServerFrame.Message.class, name = "message"),
  @JsonSubTypes.Type(value = ServerFrame.Member.class, name = "member"),
  @JsonSubTypes.Type(value = ServerFrame.Created.class, name = "created"),
  @JsonSubTypes.Type(value = ServerFrame.Ok.class, name = "ok"),
  @JsonSubTypes.Type(value = ServerFrame.Fetched.class, name = "fetched"),
  @JsonSubTypes.Type(value = ServerFrame.TypingNotice.class, name = "typing"),
  @JsonSubTypes.Type(value = ServerFrame.Ephemeral.class, name = "ephemeral"),
  @JsonSubTypes.Type(value = ServerFrame.Pong.class, name = "pong"),
  @JsonSubTypes.Type(value = ServerFrame.Conversations.class, name = "conversations"),
  @JsonSubTypes.Type(value = ServerFrame.Receipt.class, name = "receipt"),
  @JsonSubTypes.Type(value = ServerFrame.Receipts.class, name = "receipts"),
  @JsonSubTypes.Type(value = ServerFrame.Error.class, name = "error"),
  @JsonSubTypes.Type(value = ServerFrame.Reconnect.class, name = "reconnect"),
  @JsonSubTypes.Type(value = ServerFrame.KeysLow.class, name = "keysLow"),
  @JsonSubTypes.Type(value = ServerFrame.Presence.class, name = "presence"),
  @JsonSubTypes.Type(value = ServerFrame.Presences.class, name = "presences"),
  @JsonSubTypes.Type(value = ServerFrame.Close.class, name = "close")
})
@JsonInclude(JsonInclude.Include.NON_NULL)
public sealed interface ServerFrame extends CborSerializable {

  record Welcome(String user, int device, long heartbeatIntervalMs, int maxFrameBytes) implements ServerFrame {}

  /** The send is persisted as {@code seq}; {@code duplicate} when the idempotency key was seen before. */
  record Ack(String conversationId, String idempotencyKey, long seq, boolean duplicate) implements ServerFrame {}

  /** One conversation message; {@code envelope} is null when the sender encrypted nothing for this device. */
  record Message(String conversationId, long seq, String fromUser, int fromDevice, long sentAt, Body envelope)
      implements ServerFrame {}

  record Body(int type, String body) {}

  /** A membership change; it has its own seq in the conversation. */
  record Member(String conversationId, long seq, String change, String user, String by,
                List<String> participants, long at) implements ServerFrame {}

  record Created(String requestId, String conversationId, long seq) implements ServerFrame {}

  record Ok(String requestId, String conversationId, long seq) implements ServerFrame {}

  /** Ends the answer to a fetch: every existing seq in the range was sent before this frame. */
  record Fetched(String requestId, String conversationId, long fromSeq, long toSeq) implements ServerFrame {}

  record TypingNotice(String conversationId, String user, int device, boolean active) implements ServerFrame {}

  /** An ephemeral frame's envelope for this device, from {@code from}'s device {@code fromDevice}; no seq. */
  record Ephemeral(String conversationId, String from, int fromDevice, Body envelope) implements ServerFrame {}

  record Pong(String nonce) implements ServerFrame {}

  record Conversations(String requestId, List<Summary> items) implements ServerFrame {}

  /** A conversation the user is in; {@code fromSeq}: the first seq the user sees. */
  record Summary(String conversationId, long fromSeq) {}

  /**
   * A cumulative receipt: {@code user} has received ({@code kind} "delivered") or seen ("read") everything up
   * to {@code seq}.
   */
  record Receipt(String conversationId, String user, ReceiptKind kind, long seq) implements ServerFrame {}

  /** The answer to a {@code receipts} request: every participant's latest markers (0: none yet). */
  record Receipts(String requestId, String conversationId, List<Markers> members) implements ServerFrame {}

  record Markers(String user, long delivered, long read) {}

  /**
   * {@code missing} and {@code stale} come only with {@code device_mismatch}, {@code retryAfterMs} only with
   * {@code rate_limited}.
   */
  record Error(String code, String message, boolean retryable, String requestId, String conversationId,
               String idempotencyKey, List<DeviceRef> missing, List<DeviceRef> stale, Long retryAfterMs)
      implements ServerFrame {
    public static Error of(ErrorCode code, String message) {
      return new Error(code.wire(), message, code.retryable(), null, null, null, null, null, null);
    }

    public Error withRequest(String requestId, String conversationId, String idempotencyKey) {
      return new Error(code, message, retryable, requestId, conversationId, idempotencyKey, missing, stale,
          retryAfterMs);
    }

    public Error withDevices(List<DeviceRef> missing, List<DeviceRef> stale) {
      return new Error(code, message, retryable, requestId, conversationId, idempotencyKey, List.copyOf(missing),
          List.copyOf(stale), retryAfterMs);
    }

    public Error withRetryAfter(long retryAfterMs) {
      return new Error(code, message, retryable, requestId, conversationId, idempotencyKey, missing, stale,
          retryAfterMs);
    }
  }

  /** One device of one account, as named in a {@code device_mismatch} error. */
  record DeviceRef(String user, int device) {}

  /** The device has fewer one-time prekeys left in the key directory than the low mark: upload more. */
  record KeysLow(int device, int oneTimePreKeys) implements ServerFrame {}

  /**
   * A contact's presence, pushed on connect and on every change: {@code online} while any of the user's
   * devices is connected; {@code lastSeen} (epoch ms) when offline, absent when never seen.
   */
  record Presence(String user, boolean online, Long lastSeen) implements ServerFrame {}

  /** The answer to a {@code presence} request, one entry per user asked for. */
  record Presences(String requestId, List<Presence> users) implements ServerFrame {}

  /** The server is going away: reconnect (to any node) after {@code retryAfterMs}. */
  record Reconnect(long retryAfterMs, String reason) implements ServerFrame {}

  /** The last frame before the server closes the socket; {@code code} is the close reason (docs/protocol.md). */
  record Close(int code, String reason) implements ServerFrame {}
}
