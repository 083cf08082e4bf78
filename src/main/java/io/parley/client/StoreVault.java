package io.parley.client;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.security.GeneralSecurityException;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Stream;
import javax.crypto.AEADBadTagException;
import javax.crypto.Cipher;
import javax.crypto.Mac;
import javax.crypto.SecretKeyFactory;
import javax.crypto.spec.GCMParameterSpec;
import javax.crypto.spec.PBEKeySpec;
import javax.crypto.spec.SecretKeySpec;

/**
 * A directory of small files, each sealed with AES-256-GCM under the store key, written atomically
 * (temporary file, fsync, rename) and held by one process at a time through a file lock.
 *
 * <p>File format: {@code "PRV1"}, a 12-byte random nonce, then ciphertext and 16-byte tag; the file's
 * name is the associated data, so a file copied over another one fails to open.
 */
final class StoreVault implements AutoCloseable {
  private static final byte[] MAGIC = "PRV1".getBytes(StandardCharsets.US_ASCII);
  private static final int NONCE_BYTES = 12;
  private static final int TAG_BITS = 128;
  private static final String CHECK_FILE = "store.check";
  private static final String KDF_FILE = "store.kdf";
  private static final byte[] CHECK_VALUE = "parley device store".getBytes(StandardCharsets.US_ASCII);

  private final Path directory;
  private final SecretKeySpec key;
  private final byte[] nameKey;
  private final FileChannel lockChannel;
  private final FileLock lock;
  private final SecureRandom random = new SecureRandom();

  private StoreVault(Path directory, byte[] rawKey, FileChannel lockChannel, FileLock lock) throws GeneralSecurityException {
    this.directory = directory;
    this.key = new SecretKeySpec(rawKey, "AES");
    Mac mac = Mac.getInstance("HmacSHA256");
    mac.init(new SecretKeySpec(rawKey, "HmacSHA256"));
    this.nameKey = mac.doFinal("parley store file names".getBytes(StandardCharsets.US_ASCII));
    this.lockChannel = lockChannel;
    this.lock = lock;
  }

  /** Opens (or creates) the store; fails with a {@link ParleyClientException.StoreFailure} saying why. */
  static StoreVault open(Path directory, StoreKey storeKey) {
    FileChannel channel = null;
    try {
      Files.createDirectories(directory);
      channel = FileChannel.open(directory.resolve("store.lock"), StandardOpenOption.CREATE, StandardOpenOption.WRITE);
      FileLock lock;
      try {
        lock = channel.tryLock();
      } catch (OverlappingFileLockException sameProcess) {
        lock = null;
      }
      if (lock == null) {
        throw new ParleyClientException.StoreFailure("the device store " + directory.getFileName()
            + " is in use by another client", null);
      }
      byte[] rawKey = rawKey(directory, storeKey);
      StoreVault vault = new StoreVault(directory, rawKey, channel, lock);
      Arrays.fill(rawKey, (byte) 0);
      vault.checkKey();
      return vault;
    } catch (IOException | GeneralSecurityException e) {
      closeQuietly(channel);
      throw new ParleyClientException.StoreFailure("the device store could not be opened: " + e.getMessage(), e);
    } catch (RuntimeException e) {
      closeQuietly(channel);
      throw e;
    }
  }

  private static byte[] rawKey(Path directory, StoreKey storeKey) throws IOException, GeneralSecurityException {
    Path kdfFile = directory.resolve(KDF_FILE);
    if (storeKey instanceof StoreKey.Raw raw) {
      if (Files.exists(kdfFile)) {
        throw new ParleyClientException.StoreFailure("this device store is protected by a passphrase, not a raw key", null);
      }
      return raw.key();
    }
    StoreKey.Passphrase passphrase = (StoreKey.Passphrase) storeKey;
    byte[] salt;
    int iterations;
    if (Files.exists(kdfFile)) {
      Map<?, ?> kdf = Json.read(Files.readAllBytes(kdfFile), Map.class);
      salt = Base64.getDecoder().decode((String) kdf.get("salt"));
      iterations = ((Number) kdf.get("iterations")).intValue();
    } else {
      if (Files.exists(directory.resolve(CHECK_FILE))) {
        throw new ParleyClientException.StoreFailure("this device store is protected by a raw key, not a passphrase", null);
      }
      salt = new byte[16];
      new SecureRandom().nextBytes(salt);
      iterations = passphrase.iterations();
      writeAtomically(kdfFile, Json.writeBytes(Map.of("algorithm", "PBKDF2WithHmacSHA256",
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

  /** A file name derived from {@code id} that does not reveal it (for per-contact files). */
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
    byte[] sealed;
    try {
      sealed = Files.readAllBytes(directory.resolve(name));
    } catch (NoSuchFileException e) {
      return Optional.empty();
    } catch (IOException e) {
      throw new ParleyClientException.StoreFailure("store file " + name + " unreadable: " + e.getMessage(), e);
    }
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
    try {
      byte[] nonce = new byte[NONCE_BYTES];
      random.nextBytes(nonce);
      Cipher cipher = Cipher.getInstance("AES/GCM/NoPadding");
      cipher.init(Cipher.ENCRYPT_MODE, key, new GCMParameterSpec(TAG_BITS, nonce));
      cipher.updateAAD(name.getBytes(StandardCharsets.UTF_8));
      byte[] sealed = ByteBuffer.allocate(MAGIC.length + NONCE_BYTES + cipher.getOutputSize(plain.length))
          .put(MAGIC).put(nonce).put(cipher.doFinal(plain)).array();
      Path target = directory.resolve(name);
      Files.createDirectories(target.getParent());
      writeAtomically(target, sealed);
    } catch (GeneralSecurityException | IOException e) {
      throw new ParleyClientException.StoreFailure("store file " + name + " could not be written: " + e.getMessage(), e);
    }
  }

  void delete(String name) {
    try {
      Files.deleteIfExists(directory.resolve(name));
    } catch (IOException e) {
      throw new ParleyClientException.StoreFailure("store file " + name + " could not be deleted: " + e.getMessage(), e);
    }
  }

  /** Names (relative to the store) of the files in a sub-directory. */
  List<String> list(String subdirectory) {
    Path dir = directory.resolve(subdirectory);
    if (!Files.isDirectory(dir)) {
      return List.of();
    }
    try (Stream<Path> files = Files.list(dir)) {
      List<String> names = new ArrayList<>();
      files.filter(path -> !path.getFileName().toString().endsWith(".tmp"))
          .forEach(path -> names.add(subdirectory + "/" + path.getFileName()));
      return names;
    } catch (IOException e) {
      throw new ParleyClientException.StoreFailure("store directory " + subdirectory + " unreadable", e);
    }
  }

  private static void writeAtomically(Path target, byte[] bytes) throws IOException {
    Path temp = target.resolveSibling(target.getFileName() + ".tmp");
    try (FileChannel out = FileChannel.open(temp, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
        StandardOpenOption.TRUNCATE_EXISTING)) {
      ByteBuffer buffer = ByteBuffer.wrap(bytes);
      while (buffer.hasRemaining()) {
        out.write(buffer);
      }
      out.force(true);
    }
    try {
      Files.move(temp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    } catch (AtomicMoveNotSupportedException e) {
      Files.move(temp, target, StandardCopyOption.REPLACE_EXISTING);
    }
  }

  @Override
  public void close() {
    try {
      lock.release();
    } catch (IOException e) {
      // the channel's close releases it too
    }
    closeQuietly(lockChannel);
  }

  private static void closeQuietly(FileChannel channel) {
    if (channel != null) {
      try {
        channel.close();
      } catch (IOException ignored) {
        // nothing more to release
      }
    }
  }
}
