package io.parley.client;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.SecureRandom;
import java.util.Arrays;
import java.util.Base64;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import javax.crypto.AEADBadTagException;
import javax.crypto.Cipher;
import javax.crypto.Mac;
import javax.crypto.SecretKeyFactory;
import javax.crypto.spec.GCMParameterSpec;
import javax.crypto.spec.PBEKeySpec;
import javax.crypto.spec.SecretKeySpec;

/**
 * A set of small named entries, each sealed with AES-256-GCM under the store key, kept in a
 * {@link VaultStorage} (by default a directory of files, written atomically and locked to one process).
 *
 * <p>Entry format: {@code "PRV1"}, a 12-byte random nonce, then ciphertext and 16-byte tag; the entry's
 * name is the associated data, so an entry copied over another one fails to open.
 */
final class StoreVault implements AutoCloseable {
  private static final byte[] MAGIC = "PRV1".getBytes(StandardCharsets.US_ASCII);
  private static final int NONCE_BYTES = 12;
  private static final int TAG_BITS = 128;
  private static final String CHECK_FILE = "store.check";
  private static final String KDF_FILE = "store.kdf";
  private static final byte[] CHECK_VALUE = "parley device store".getBytes(StandardCharsets.US_ASCII);

  private final VaultStorage storage;
  private final SecretKeySpec key;
  private final byte[] nameKey;
  private final SecureRandom random = new SecureRandom();

  private StoreVault(VaultStorage storage, byte[] rawKey) throws GeneralSecurityException {
    this.storage = storage;
    this.key = new SecretKeySpec(rawKey, "AES");
    Mac mac = Mac.getInstance("HmacSHA256");
    mac.init(new SecretKeySpec(rawKey, "HmacSHA256"));
    this.nameKey = mac.doFinal("parley store file names".getBytes(StandardCharsets.US_ASCII));
  }

  /** Opens (or creates) the store in a directory; fails with a {@link ParleyClientException.StoreFailure} saying why. */
  static StoreVault open(Path directory, StoreKey storeKey) {
    return open(DirectoryVaultStorage.open(directory), storeKey);
  }

  /** Opens (or creates) the store in {@code storage}, which it closes on failure and on {@link #close()}. */
  static StoreVault open(VaultStorage storage, StoreKey storeKey) {
    try {
      byte[] rawKey = rawKey(storage, storeKey);
      StoreVault vault = new StoreVault(storage, rawKey);
      Arrays.fill(rawKey, (byte) 0);
      vault.checkKey();
      return vault;
    } catch (GeneralSecurityException e) {
      closeQuietly(storage);
      throw new ParleyClientException.StoreFailure("the device store could not be opened: " + e.getMessage(), e);
    } catch (ParleyClientException e) {
      closeQuietly(storage);
      throw e;
    } catch (RuntimeException e) {
      closeQuietly(storage);
      throw new ParleyClientException.StoreFailure("the device store could not be opened: " + e.getMessage(), e);
    }
  }

  private static byte[] rawKey(VaultStorage storage, StoreKey storeKey) throws GeneralSecurityException {
    Optional<byte[]> kdfFile = storage.read(KDF_FILE);
    if (storeKey instanceof StoreKey.Raw raw) {
      if (kdfFile.isPresent()) {
        throw new ParleyClientException.StoreFailure("this device store is protected by a passphrase, not a raw key", null);
      }
      return raw.key();
    }
    StoreKey.Passphrase passphrase = (StoreKey.Passphrase) storeKey;
    byte[] salt;
    int iterations;
    if (kdfFile.isPresent()) {
      Map<?, ?> kdf = Json.read(kdfFile.get(), Map.class);
      salt = Base64.getDecoder().decode((String) kdf.get("salt"));
      iterations = ((Number) kdf.get("iterations")).intValue();
    } else {
      if (storage.read(CHECK_FILE).isPresent()) {
        throw new ParleyClientException.StoreFailure("this device store is protected by a raw key, not a passphrase", null);
      }
      salt = new byte[16];
      new SecureRandom().nextBytes(salt);
      iterations = passphrase.iterations();
      // the salt and iteration count are not secret: the one entry stored unsealed
      storage.write(KDF_FILE, Json.writeBytes(Map.of("algorithm", "PBKDF2WithHmacSHA256",
          "iterations", iterations, "salt", Base64.getEncoder().encodeToString(salt))));
    }
    char[] chars = passphrase.passphrase();
    PBEKeySpec spec = new PBEKeySpec(chars, salt, iterations, 256);
    try {
      return SecretKeyFactory.getInstance("PBKDF2WithHmacSHA256").generateSecret(spec).getEncoded();
    } finally {
      spec.clearPassword();
      Arrays.fill(chars, '\0');
    }
  }

  private void checkKey() {
    Optional<byte[]> check;
    try {
      check = read(CHECK_FILE);
    } catch (ParleyClientException.StoreFailure e) {
      throw new ParleyClientException.StoreFailure("wrong store key or passphrase for this device store", e.getCause());
    }
    if (check.isEmpty()) {
      write(CHECK_FILE, CHECK_VALUE);
    } else if (!Arrays.equals(check.get(), CHECK_VALUE)) {
      throw new ParleyClientException.StoreFailure("wrong store key or passphrase for this device store", null);
    }
  }

  /** An entry name derived from {@code id} that does not reveal it (for per-contact entries). */
  String hiddenName(String prefix, String id) {
    try {
      Mac mac = Mac.getInstance("HmacSHA256");
      mac.init(new SecretKeySpec(nameKey, "HmacSHA256"));
      byte[] digest = mac.doFinal(id.getBytes(StandardCharsets.UTF_8));
      return prefix + HexFormat.of().formatHex(digest, 0, 16);
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException(e);
    }
  }

  Optional<byte[]> read(String name) {
    Optional<byte[]> stored;
    try {
      stored = storage.read(name);
    } catch (ParleyClientException e) {
      throw e;
    } catch (RuntimeException e) {
      throw new ParleyClientException.StoreFailure("store file " + name + " unreadable: " + e.getMessage(), e);
    }
    if (stored.isEmpty()) {
      return Optional.empty();
    }
    byte[] sealed = stored.get();
    if (sealed.length < MAGIC.length + NONCE_BYTES + TAG_BITS / 8
        || !Arrays.equals(Arrays.copyOf(sealed, MAGIC.length), MAGIC)) {
      throw new ParleyClientException.StoreFailure("store file " + name + " is not a sealed store file", null);
    }
    try {
      Cipher cipher = Cipher.getInstance("AES/GCM/NoPadding");
      cipher.init(Cipher.DECRYPT_MODE, key, new GCMParameterSpec(TAG_BITS, sealed, MAGIC.length, NONCE_BYTES));
      cipher.updateAAD(name.getBytes(StandardCharsets.UTF_8));
      int offset = MAGIC.length + NONCE_BYTES;
      return Optional.of(cipher.doFinal(sealed, offset, sealed.length - offset));
    } catch (AEADBadTagException e) {
      throw new ParleyClientException.StoreFailure("store file " + name
          + " failed authentication: wrong store key, or the file was altered", e);
    } catch (GeneralSecurityException e) {
      throw new ParleyClientException.StoreFailure("store file " + name + ": " + e.getMessage(), e);
    }
  }

  void write(String name, byte[] plain) {
    byte[] sealed;
    try {
      byte[] nonce = new byte[NONCE_BYTES];
      random.nextBytes(nonce);
      Cipher cipher = Cipher.getInstance("AES/GCM/NoPadding");
      cipher.init(Cipher.ENCRYPT_MODE, key, new GCMParameterSpec(TAG_BITS, nonce));
      cipher.updateAAD(name.getBytes(StandardCharsets.UTF_8));
      sealed = ByteBuffer.allocate(MAGIC.length + NONCE_BYTES + cipher.getOutputSize(plain.length))
          .put(MAGIC).put(nonce).put(cipher.doFinal(plain)).array();
    } catch (GeneralSecurityException e) {
      throw new ParleyClientException.StoreFailure("store file " + name + " could not be sealed: " + e.getMessage(), e);
    }
    try {
      storage.write(name, sealed);
    } catch (ParleyClientException e) {
      throw e;
    } catch (RuntimeException e) {
      throw new ParleyClientException.StoreFailure("store file " + name + " could not be written: " + e.getMessage(), e);
    }
  }

  void delete(String name) {
    try {
      storage.delete(name);
    } catch (ParleyClientException e) {
      throw e;
    } catch (RuntimeException e) {
      throw new ParleyClientException.StoreFailure("store file " + name + " could not be deleted: " + e.getMessage(), e);
    }
  }

  /** Names (relative to the store) of the entries in a group, such as {@code sessions}. */
  List<String> list(String group) {
    String prefix = group + "/";
    try {
      return storage.list().stream().filter(name -> name.startsWith(prefix)).toList();
    } catch (ParleyClientException e) {
      throw e;
    } catch (RuntimeException e) {
      throw new ParleyClientException.StoreFailure("store entries " + group + " unreadable: " + e.getMessage(), e);
    }
  }

  @Override
  public void close() {
    storage.close();
  }

  private static void closeQuietly(VaultStorage storage) {
    try {
      storage.close();
    } catch (RuntimeException ignored) {
      // the failure that made us close is the one to report
    }
  }
}
