package io.parley.protocol;

import java.util.regex.Pattern;

/** Shape checks shared by the frame records; a failed check becomes an {@code invalid_request} error. */
final class Check {
  private static final Pattern CONVERSATION_ID = Pattern.compile("[A-Za-z0-9_-]{8,64}");
  private static final Pattern ACCOUNT_ID = Pattern.compile("u_[A-Za-z0-9_-]{22}");
  private static final Pattern IDEMPOTENCY_KEY = Pattern.compile("[\\x21-\\x7e]{8,128}");
  private static final Pattern REQUEST_ID = Pattern.compile("[\\x21-\\x7e]{1,64}");
  static final int MAX_DEVICE = 127;

  private Check() {}

  static boolean isConversationId(String id) {
    return id != null && CONVERSATION_ID.matcher(id).matches();
  }

  static boolean isRequestId(String id) {
    return id != null && REQUEST_ID.matcher(id).matches();
  }

  static boolean isIdempotencyKey(String key) {
    return key != null && IDEMPOTENCY_KEY.matcher(key).matches();
  }

  static void that(boolean condition, String message) {
    if (!condition) {
      throw new InvalidFrameException(ErrorCode.INVALID_REQUEST, message);
    }
  }

  static void conversationId(String id) {
    that(isConversationId(id),
        "conversationId must be 8-64 characters of letters, digits, '_' or '-'");
  }

  static void accountId(String id) {
    that(id != null && ACCOUNT_ID.matcher(id).matches(), "user must be an account id (u_...)");
  }

  static void device(int device) {
    that(device >= 1 && device <= MAX_DEVICE, "device must be between 1 and " + MAX_DEVICE);
  }

  static void requestId(String id) {
    that(id == null || isRequestId(id), "requestId is 1-64 printable characters");
  }

  static void idempotencyKey(String key) {
    if (!isIdempotencyKey(key)) {
      throw new InvalidFrameException(ErrorCode.INVALID_IDEMPOTENCY_KEY,
          "idempotencyKey must be 8-128 printable ASCII characters");
    }
  }
}
