package io.parley.client;

import java.nio.file.Path;
import java.util.List;
import java.util.Optional;

/**
 * Where a device store keeps its entries: a small set of named byte arrays. The store (not the storage)
 * encrypts: every value handed to {@link #write} is already sealed with AES-256-GCM under the
 * {@link StoreKey}, with the entry's name as associated data, so a storage sees only ciphertext and
 * names that reveal nothing (per-contact names are HMACs). The one exception is {@code store.kdf} of a
 * passphrase-protected store: the PBKDF2 salt and iteration count in JSON, which are not secret.
 *
 * <p>Names are at most a few dozen characters of {@code [a-z0-9./-]}, such as {@code identity},
 * {@code cursors} or {@code sessions/3f1c…}; a {@code /} groups entries, nothing more.
 *
 * <p>A storage belongs to one client at a time: two clients writing the same device's store would fork
 * its Signal sessions. The directory storage enforces this with a file lock; other storages leave it to
 * whoever places the client (for example a sharded entity that owns the device). A {@link ParleyClient}
 * closes the storage it was given when it closes.
 *
 * <p>Every method may block (it runs on the client's worker thread) and reports failures by throwing a
 * {@link RuntimeException}; the client reports them as {@link ParleyClientException.StoreFailure}. A
 * write must be durable when it returns and atomic per entry: a reader sees the old value or the new one.
 */
public interface VaultStorage extends AutoCloseable {

  /** The entry's value, or empty if there is none. */
  Optional<byte[]> read(String name);

  /** Creates or replaces the entry. */
  void write(String name, byte[] sealed);

  /** Removes the entry; nothing happens if there is none. */
  void delete(String name);

  /** The names of all entries. */
  List<String> list();

  @Override
  void close();

  /**
   * The default storage: one file per entry in {@code directory} (created if missing), each written to a
   * temporary file, fsynced and renamed, with a lock file that keeps other processes out until
   * {@link #close()}. Fails with {@link ParleyClientException.StoreFailure} if another client holds it.
   */
  static VaultStorage directory(Path directory) {
    return DirectoryVaultStorage.open(directory);
  }
}
