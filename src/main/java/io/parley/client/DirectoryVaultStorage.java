package io.parley.client;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.stream.Stream;

/**
 * A {@link VaultStorage} in a directory: one file per entry (a {@code /} in a name is a sub-directory),
 * written atomically (temporary file, fsync, rename) and held by one process at a time through a file lock.
 */
final class DirectoryVaultStorage implements VaultStorage {
  private static final String LOCK_FILE = "store.lock";
  private static final String TEMP_SUFFIX = ".tmp";

  private final Path directory;
  private final FileChannel lockChannel;
  private final FileLock lock;

  private DirectoryVaultStorage(Path directory, FileChannel lockChannel, FileLock lock) {
    this.directory = directory;
    this.lockChannel = lockChannel;
    this.lock = lock;
  }

  static DirectoryVaultStorage open(Path directory) {
    FileChannel channel = null;
    try {
      Files.createDirectories(directory);
      channel = FileChannel.open(directory.resolve(LOCK_FILE), StandardOpenOption.CREATE, StandardOpenOption.WRITE);
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
      return new DirectoryVaultStorage(directory, channel, lock);
    } catch (IOException e) {
      closeQuietly(channel);
      throw new ParleyClientException.StoreFailure("the device store could not be opened: " + e.getMessage(), e);
    } catch (RuntimeException e) {
      closeQuietly(channel);
      throw e;
    }
  }

  @Override
  public Optional<byte[]> read(String name) {
    try {
      return Optional.of(Files.readAllBytes(directory.resolve(name)));
    } catch (NoSuchFileException e) {
      return Optional.empty();
    } catch (IOException e) {
      throw new ParleyClientException.StoreFailure("store file " + name + " unreadable: " + e.getMessage(), e);
    }
  }

  @Override
  public void write(String name, byte[] sealed) {
    try {
      Path target = directory.resolve(name);
      Files.createDirectories(target.getParent());
      writeAtomically(target, sealed);
    } catch (IOException e) {
      throw new ParleyClientException.StoreFailure("store file " + name + " could not be written: " + e.getMessage(), e);
    }
  }

  @Override
  public void delete(String name) {
    try {
      Files.deleteIfExists(directory.resolve(name));
    } catch (IOException e) {
      throw new ParleyClientException.StoreFailure("store file " + name + " could not be deleted: " + e.getMessage(), e);
    }
  }

  @Override
  public List<String> list() {
    try (Stream<Path> files = Files.walk(directory)) {
      List<String> names = new ArrayList<>();
      files.filter(Files::isRegularFile)
          .map(path -> directory.relativize(path).toString().replace(path.getFileSystem().getSeparator(), "/"))
          .filter(name -> !name.equals(LOCK_FILE) && !name.endsWith(TEMP_SUFFIX))
          .forEach(names::add);
      return names;
    } catch (IOException e) {
      throw new ParleyClientException.StoreFailure("store directory unreadable: " + e.getMessage(), e);
    }
  }

  private static void writeAtomically(Path target, byte[] bytes) throws IOException {
    Path temp = target.resolveSibling(target.getFileName() + TEMP_SUFFIX);
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
