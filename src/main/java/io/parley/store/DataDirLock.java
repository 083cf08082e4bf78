package io.parley.store;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * An exclusive lock on a data directory, held for the life of the embedded store, so that two nodes
 * never open the same files. The operating system releases it when the process dies, so a crashed
 * node leaves no stale lock behind.
 */
final class DataDirLock implements AutoCloseable {

  static final String FILE_NAME = "store.lock";

  // Closing any channel on a file drops every lock this process holds on it (POSIX locks), so a
  // second attempt from this process must be refused before it opens the file at all.
  private static final Set<Path> heldByThisProcess = ConcurrentHashMap.newKeySet();

  private final Path dir;
  private final Path file;
  private final FileChannel channel;
  private final FileLock lock;

  private DataDirLock(Path dir, Path file, FileChannel channel, FileLock lock) {
    this.dir = dir;
    this.file = file;
    this.channel = channel;
    this.lock = lock;
  }

  static DataDirLock acquire(Path dataDir) {
    Path dir;
    try {
      Files.createDirectories(dataDir);
      dir = dataDir.toRealPath();
    } catch (IOException e) {
      throw new UncheckedIOException("cannot create data directory " + dataDir, e);
    }
    if (!heldByThisProcess.add(dir)) {
      throw inUse(dir, " in this process");
    }
    Path file = dir.resolve(FILE_NAME);
    FileChannel channel = null;
    try {
      channel = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.READ, StandardOpenOption.WRITE);
      FileLock lock = tryLock(channel);
      if (lock == null) {
        String holder = readHolder(channel);
        channel.close();
        throw inUse(dir, holder);
      }
      channel.truncate(0);
      channel.write(ByteBuffer.wrap(("pid " + ProcessHandle.current().pid() + "\n").getBytes(StandardCharsets.US_ASCII)), 0);
      channel.force(false);
      return new DataDirLock(dir, file, channel, lock);
    } catch (IOException e) {
      closeQuietly(channel);
      heldByThisProcess.remove(dir);
      throw new UncheckedIOException("cannot lock data directory " + dir, e);
    } catch (RuntimeException e) {
      heldByThisProcess.remove(dir);
      throw e;
    }
  }

  private static IllegalStateException inUse(Path dir, String holder) {
    return new IllegalStateException(
        "data directory " + dir + " is in use by another Parley node" + holder
            + "; stop that node or give this one its own data directory (PARLEY_DATA_DIR)");
  }

  private static FileLock tryLock(FileChannel channel) throws IOException {
    try {
      return channel.tryLock();
    } catch (OverlappingFileLockException e) {
      return null;
    }
  }

  private static String readHolder(FileChannel channel) {
    try {
      ByteBuffer buffer = ByteBuffer.allocate(64);
      int read = channel.read(buffer, 0);
      String content = read > 0 ? new String(buffer.array(), 0, read, StandardCharsets.US_ASCII).trim() : "";
      return content.isEmpty() ? "" : " (" + content + ")";
    } catch (IOException e) {
      return "";
    }
  }

  private static void closeQuietly(FileChannel channel) {
    if (channel != null) {
      try {
        channel.close();
      } catch (IOException ignored) {
        // the lock goes with the channel; nothing else to undo
      }
    }
  }

  Path file() {
    return file;
  }

  @Override
  public void close() {
    try {
      lock.release();
    } catch (IOException ignored) {
      // closing the channel below releases the lock as well
    }
    closeQuietly(channel);
    heldByThisProcess.remove(dir);
  }
}
