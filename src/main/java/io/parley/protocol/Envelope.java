package io.parley.protocol;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonIgnore;
import com.fasterxml.jackson.annotation.JsonProperty;
import java.util.Base64;

/**
 * A ciphertext for one recipient device. {@code type} is the Signal message type (2 = Whisper, 3 = PreKey);
 * {@code body} is the base64 ciphertext. The server never decrypts, but it refuses what cannot be a Signal
 * message of version 4 (PQXDH): the body's first byte carries that version, and both message types have a
 * fixed overhead (keys, counters, MAC) below which nothing decrypts.
 */
public record Envelope(String user, int device, int type, String body, @JsonIgnore byte[] bytes) {
  public static final int WHISPER = 2;
  public static final int PREKEY = 3;
  /** First byte of every message libsignal produces for PQXDH sessions: version 4 in both nibbles. */
  public static final byte VERSION_BYTE = 0x44;
  public static final int MIN_WHISPER_BYTES = 40;
  public static final int MIN_PREKEY_BYTES = 100;

  /** Checks the envelope and decodes its body once; {@link #bytes()} is the decoded ciphertext. */
  @JsonCreator
  public Envelope(@JsonProperty("user") String user, @JsonProperty("device") int device,
                  @JsonProperty("type") int type, @JsonProperty("body") String body) {
    this(user, device, type, body, checked(type, body));
  }

  public Envelope {
    Check.accountId(user);
    Check.device(device);
    Check.that(body != null && bytes != null, "envelope body is required");
    envelope(type == WHISPER || type == PREKEY, "envelope type must be 2 (Whisper) or 3 (PreKey)");
    envelope(bytes.length >= minBytes(type), "a type " + type + " envelope is at least " + minBytes(type) + " bytes");
    envelope(bytes[0] == VERSION_BYTE, "envelope body is not a version 4 Signal message");
  }

  private static byte[] checked(int type, String body) {
    Check.that(body != null, "envelope body is required");
    envelope(type == WHISPER || type == PREKEY, "envelope type must be 2 (Whisper) or 3 (PreKey)");
    return decode(body);
  }

  /** The decoded ciphertext (shared, not copied: treat it as read-only). */
  @Override
  @JsonIgnore
  public byte[] bytes() {
    return bytes;
  }

  /** Equal when the wire fields are: the bytes follow from the body. */
  @Override
  public boolean equals(Object other) {
    return other instanceof Envelope e && device == e.device && type == e.type && user.equals(e.user)
        && body.equals(e.body);
  }

  @Override
  public int hashCode() {
    return java.util.Objects.hash(user, device, type, body);
  }

  @Override
  public String toString() {
    return "Envelope[user=" + user + ", device=" + device + ", type=" + type + ", " + bytes.length + " bytes]";
  }

  public static int minBytes(int type) {
    return type == PREKEY ? MIN_PREKEY_BYTES : MIN_WHISPER_BYTES;
  }

  private static byte[] decode(String body) {
    try {
      return Base64.getDecoder().decode(body);
    } catch (IllegalArgumentException e) {
      throw new InvalidFrameException(ErrorCode.INVALID_ENVELOPE, "envelope body is not base64");
    }
  }

  private static void envelope(boolean condition, String message) {
    if (!condition) {
      throw new InvalidFrameException(ErrorCode.INVALID_ENVELOPE, message);
    }
  }
}
