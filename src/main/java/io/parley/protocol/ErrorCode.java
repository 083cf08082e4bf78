package io.parley.protocol;

import com.fasterxml.jackson.annotation.JsonValue;

/** Stable error codes of the protocol. Clients switch on {@link #wire()}; the list is in docs/protocol.md. */
public enum ErrorCode {
  MALFORMED_FRAME("malformed_frame", false),
  UNKNOWN_TYPE("unknown_type", false),
  FRAME_TOO_LARGE("frame_too_large", false),
  BINARY_NOT_SUPPORTED("binary_not_supported", false),
  INVALID_REQUEST("invalid_request", false),
  HELLO_REQUIRED("hello_required", false),
  ALREADY_AUTHENTICATED("already_authenticated", false),
  UNAUTHENTICATED("unauthenticated", false),
  TOKEN_EXPIRED("token_expired", false),
  TOKEN_INVALID("token_invalid", false),
  TOO_MANY_DEVICES("too_many_devices", false),
  UNKNOWN_DEVICE("unknown_device", false),
  UNKNOWN_CONVERSATION("unknown_conversation", false),
  CONVERSATION_EXISTS("conversation_exists", false),
  NOT_PARTICIPANT("not_participant", false),
  TOO_MANY_PARTICIPANTS("too_many_participants", false),
  INVALID_IDEMPOTENCY_KEY("invalid_idempotency_key", false),
  INVALID_ENVELOPE("invalid_envelope", false),
  PAYLOAD_TOO_LARGE("payload_too_large", false),
  UNKNOWN_RECIPIENT("unknown_recipient", false),
  DEVICE_MISMATCH("device_mismatch", false),
  RANGE_TOO_LARGE("range_too_large", false),
  TOO_SLOW("too_slow", true),
  RATE_LIMITED("rate_limited", true),
  UNAVAILABLE("unavailable", true),
  INTERNAL("internal", true);

  private final String wire;
  private final boolean retryable;

  ErrorCode(String wire, boolean retryable) {
    this.wire = wire;
    this.retryable = retryable;
  }

  @JsonValue
  public String wire() {
    return wire;
  }

  public boolean retryable() {
    return retryable;
  }
}
