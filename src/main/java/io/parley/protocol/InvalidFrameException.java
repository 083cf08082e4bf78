package io.parley.protocol;

/**
 * A frame the server cannot accept; carries the error code the client receives and, when the frame named
 * them well-formed, the requestId / conversationId / idempotencyKey the error answers.
 */
public final class InvalidFrameException extends RuntimeException {
  private final ErrorCode code;
  private final String requestId;
  private final String conversationId;
  private final String idempotencyKey;

  public InvalidFrameException(ErrorCode code, String message) {
    this(code, message, null, null, null);
  }

  private InvalidFrameException(ErrorCode code, String message, String requestId, String conversationId,
                                String idempotencyKey) {
    super(message, null, false, false);
    this.code = code;
    this.requestId = requestId;
    this.conversationId = conversationId;
    this.idempotencyKey = idempotencyKey;
  }

  /** The same rejection, naming the request it answers. */
  public InvalidFrameException answering(String requestId, String conversationId, String idempotencyKey) {
    return new InvalidFrameException(code, getMessage(), requestId, conversationId, idempotencyKey);
  }

  public ErrorCode code() {
    return code;
  }

  public String requestId() {
    return requestId;
  }

  public String conversationId() {
    return conversationId;
  }

  public String idempotencyKey() {
    return idempotencyKey;
  }
}
