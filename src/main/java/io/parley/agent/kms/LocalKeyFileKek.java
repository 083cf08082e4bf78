package io.parley.agent.kms;

import io.parley.config.SecretFile;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.util.Arrays;
import java.util.Base64;
import java.util.HexFormat;
import javax.crypto.Cipher;
import javax.crypto.spec.GCMParameterSpec;
import javax.crypto.spec.SecretKeySpec;

/**
 * The default key-encryption key: 32 random bytes in a file only its owner reads (generated once in the
 * embedded data dir; in production a mounted secret). Wrapping is AES-256-GCM with a random 12-byte nonce
 * and the context as associated data: {@code "PKW1" | nonce | ciphertext+tag}.
 */
public final class LocalKeyFileKek implements KeyEncryptionKey {
  private static final byte[] MAGIC = "PKW1".getBytes(StandardCharsets.US_ASCII);
  private static final int NONCE_BYTES = 12;
  private static final int TAG_BITS = 128;

  private final SecretKeySpec key;
  private final String keyId;
  private final SecureRandom random = new SecureRandom();

  LocalKeyFileKek(byte[] rawKey) {
    if (rawKey.length != 32) {
      throw new IllegalArgumentException("the key-encryption key must be 32 bytes (base64 in its file)");
    }
    this.key = new SecretKeySpec(rawKey.clone(), "AES");
    this.keyId = "local:" + fingerprint(rawKey);
  }

  /** Reads the key file, creating it with a new random key when {@code createIfAbsent} and it does not exist. */
  public static LocalKeyFileKek open(Path file, boolean createIfAbsent) {
    if (!createIfAbsent && !file.toFile().exists()) {
      throw new IllegalArgumentException("the agents' key-encryption key file does not exist: set "
          + "PARLEY_AGENT_KEK_FILE to a file holding 32 random bytes in base64 (e.g. openssl rand -base64 32)");
    }
    // a production key file is a read-only mounted secret: read it as it is
    String encoded;
    try {
      encoded = createIfAbsent ? SecretFile.readOrCreate(file, LocalKeyFileKek::generate) : Files.readString(file);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read the agents' key-encryption key file " + file, e);
    }
    try {
      return new LocalKeyFileKek(Base64.getDecoder().decode(encoded.strip()));
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException("the agents' key-encryption key file must hold 32 bytes in base64", e);
    }
  }

  @Override
  public String keyId() {
    return keyId;
  }

  @Override
  public byte[] wrap(byte[] plaintext, String context) {
    byte[] nonce = new byte[NONCE_BYTES];
    random.nextBytes(nonce);
    try {
      Cipher cipher = Cipher.getInstance("AES/GCM/NoPadding");
      cipher.init(Cipher.ENCRYPT_MODE, key, new GCMParameterSpec(TAG_BITS, nonce));
      cipher.updateAAD(context.getBytes(StandardCharsets.UTF_8));
      byte[] sealed = cipher.doFinal(plaintext);
      return ByteBuffer.allocate(MAGIC.length + NONCE_BYTES + sealed.length).put(MAGIC).put(nonce).put(sealed).array();
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("AES-GCM unavailable", e);
    }
  }

  @Override
  public byte[] unwrap(byte[] wrapped, String context) {
    if (wrapped.length < MAGIC.length + NONCE_BYTES + TAG_BITS / 8
        || !Arrays.equals(Arrays.copyOf(wrapped, MAGIC.length), MAGIC)) {
      throw new KeyUnwrapException("not a value wrapped by the local key-encryption key", null);
    }
    try {
      Cipher cipher = Cipher.getInstance("AES/GCM/NoPadding");
      cipher.init(Cipher.DECRYPT_MODE, key,
          new GCMParameterSpec(TAG_BITS, wrapped, MAGIC.length, NONCE_BYTES));
      cipher.updateAAD(context.getBytes(StandardCharsets.UTF_8));
      int offset = MAGIC.length + NONCE_BYTES;
      return cipher.doFinal(wrapped, offset, wrapped.length - offset);
    } catch (GeneralSecurityException e) {
      throw new KeyUnwrapException("the wrapped value does not open under this key and context", e);
    }
  }

  private static String generate() {
    byte[] bytes = new byte[32];
    new SecureRandom().nextBytes(bytes);
    return Base64.getEncoder().encodeToString(bytes);
  }

  private static String fingerprint(byte[] rawKey) {
    try {
      byte[] digest = MessageDigest.getInstance("SHA-256")
          .digest(("parley kek id" + Base64.getEncoder().encodeToString(rawKey)).getBytes(StandardCharsets.UTF_8));
      return HexFormat.of().formatHex(digest, 0, 8);
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException(e);
    }
  }
}
