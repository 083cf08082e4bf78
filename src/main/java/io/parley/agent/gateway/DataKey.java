package io.parley.agent.gateway;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.SecureRandom;
import javax.crypto.Cipher;
import javax.crypto.spec.GCMParameterSpec;
import javax.crypto.spec.SecretKeySpec;

/**
 * An agent's data key: 32 bytes that seal what the gateway keeps for the agent (its device store, its
 * outbox) with AES-256-GCM; the value's place is the associated data. The key itself is only ever stored
 * wrapped by the key-encryption key ({@link AgentDataKeys}).
 */
public final class DataKey {
  private static final int NONCE_BYTES = 12;
  private static final int TAG_BITS = 128;
  private static final SecureRandom RANDOM = new SecureRandom();

  private final byte[] raw;
  private final SecretKeySpec key;

  DataKey(byte[] raw) {
    if (raw.length != 32) {
      throw new IllegalArgumentException("a data key is 32 bytes");
    }
    this.raw = raw.clone();
    this.key = new SecretKeySpec(raw, "AES");
  }

  static DataKey generate() {
    byte[] raw = new byte[32];
    RANDOM.nextBytes(raw);
    return new DataKey(raw);
  }

  byte[] raw() {
    return raw.clone();
  }

  public byte[] seal(byte[] plaintext, String place) {
    byte[] nonce = new byte[NONCE_BYTES];
    RANDOM.nextBytes(nonce);
    try {
      Cipher cipher = Cipher.getInstance("AES/GCM/NoPadding");
      cipher.init(Cipher.ENCRYPT_MODE, key, new GCMParameterSpec(TAG_BITS, nonce));
      cipher.updateAAD(place.getBytes(StandardCharsets.UTF_8));
      byte[] sealed = cipher.doFinal(plaintext);
      return ByteBuffer.allocate(NONCE_BYTES + sealed.length).put(nonce).put(sealed).array();
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("AES-GCM unavailable", e);
    }
  }

  /** @throws IllegalStateException when the value was not sealed under this key for this place */
  public byte[] open(byte[] sealed, String place) {
    try {
      Cipher cipher = Cipher.getInstance("AES/GCM/NoPadding");
      cipher.init(Cipher.DECRYPT_MODE, key, new GCMParameterSpec(TAG_BITS, sealed, 0, NONCE_BYTES));
      cipher.updateAAD(place.getBytes(StandardCharsets.UTF_8));
      return cipher.doFinal(sealed, NONCE_BYTES, sealed.length - NONCE_BYTES);
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("a sealed agent record does not open: wrong key, wrong place or altered", e);
    }
  }

  @Override
  public String toString() {
    return "DataKey[hidden]";
  }
}
