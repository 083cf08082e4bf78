package io.parley.protocol;

/** A frame the server cannot accept; carries the error code the client receives. */
public final class InvalidFrameException extends RuntimeException {
  private final ErrorCode code;

  public InvalidFrameException(ErrorCode code, String message) {
    super(message, null, false, false);
    this.code = code;
  }

  public ErrorCode code() {
    return code;
  }
}
