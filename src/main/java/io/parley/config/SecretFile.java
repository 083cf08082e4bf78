package io.parley.config;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.FileAttribute;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Set;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A node-local secret kept in a file that only the owner may read (mode 600): generated once, then
 * read back on every start so that what it protects (dev tokens, keyed hashes) survives restarts.
 */
public final class SecretFile {

  private static final Logger log = LoggerFactory.getLogger(SecretFile.class);
  private static final Set<PosixFilePermission> OWNER_ONLY =
      PosixFilePermissions.fromString("rw-------");

  private SecretFile() {}

  /**
   * Returns the secret stored in {@code file}, creating it from {@code generator} when absent.
   * Creation is atomic: the file appears complete or not at all, and when two processes race the
   * first one wins and both return its content.
   */
  public static String readOrCreate(Path file, Supplier<String> generator) {
    try {
      Path dir = file.toAbsolutePath().getParent();
      Files.createDirectories(dir);
      if (!Files.exists(file)) {
        create(dir, file, generator.get());
      }
      return read(file);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read or create the secret file " + file, e);
    }
  }

  private static void create(Path dir, Path file, String secret) throws IOException {
    Path tmp = posix(dir)
        ? Files.createTempFile(dir, ".secret-", ".tmp", PosixFilePermissions.asFileAttribute(OWNER_ONLY))
        : Files.createTempFile(dir, ".secret-", ".tmp", new FileAttribute<?>[0]);
    try {
      try (FileChannel channel = FileChannel.open(tmp, StandardOpenOption.WRITE)) {
        channel.write(ByteBuffer.wrap(secret.getBytes(StandardCharsets.UTF_8)));
        channel.force(true);
      }
      try {
        // a hard link fails when the target exists, unlike a rename, which would replace it
        Files.createLink(file, tmp);
      } catch (FileAlreadyExistsException lostTheRace) {
        // another process created it first: use theirs
      } catch (UnsupportedOperationException | IOException noHardLinks) {
        if (!Files.exists(file)) {
          Files.move(tmp, file);
        }
      }
    } finally {
      Files.deleteIfExists(tmp);
    }
  }

  private static String read(Path file) throws IOException {
    if (posix(file) && !Files.getPosixFilePermissions(file).equals(OWNER_ONLY)) {
      log.warn("Secret file {} was readable by others; restricting it to its owner", file);
      Files.setPosixFilePermissions(file, OWNER_ONLY);
    }
    String secret = Files.readString(file, StandardCharsets.UTF_8).strip();
    if (secret.isEmpty()) {
      throw new IllegalStateException("the secret file " + file + " is empty");
    }
    return secret;
  }

  private static boolean posix(Path path) {
    return path.getFileSystem().supportedFileAttributeViews().contains("posix");
  }
}
