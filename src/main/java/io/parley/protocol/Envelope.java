package io.parley.protocol;

/**
 * A ciphertext for one recipient device. {@code type} is the Signal message type (2 = Whisper, 3 = PreKey);
 * {@code body} is the base64 ciphertext.
 */
public record Envelope(String user, int device, int type, String body) {
  public static final int WHISPER = 2;
  public static final int PREKEY = 3;

  public Envelope {
    Check.accountId(user);
    Check.device(device);
    Check.that(type == WHISPER || type == PREKEY, "envelope type must be 2 (Whisper) or 3 (PreKey)");
    Check.that(body != null && !body.isEmpty(), "envelope body is required");
  }
}
