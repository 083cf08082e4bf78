package io.parley.store;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import org.h2.mvstore.Cursor;
import org.h2.mvstore.MVMap;
import org.h2.mvstore.MVStore;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Opens the embedded store's MVStore file in Parley's format: every map keyed and valued with
 * {@link BsonDataType}, marked by the store version {@value #VERSION}.
 *
 * <p>A file written before that (store version 0, H2's default types) is converted once on open: its
 * maps are copied into a new file, which then replaces the old one with an atomic rename. A crash
 * during the copy leaves the old file as it was, and the copy starts again on the next open.
 */
final class StoreFormat {

  private static final Logger log = LoggerFactory.getLogger(StoreFormat.class);

  /** MVStore's store version of a file whose maps all use {@link BsonDataType}. */
  static final int VERSION = 1;

  /** Map name prefixes of the H2 backend: a collection's documents and its metadata. */
  static final String DATA_PREFIX = "databases.";
  static final String META_PREFIX = "meta.";

  /*
   * Every commit writes each page it changed, whole. Smaller leaves mean fewer bytes rewritten per
   * small commit (the right-most leaf of a journal bucket, of its _id index and of its
   * persistence-id index), at the price of deeper trees.
   */
  private static final int PAGE_SPLIT_SIZE = 4 * 1024;
  private static final int CACHE_MIB = 64;
  private static final int COPY_COMMIT_ENTRIES = 10_000;

  private StoreFormat() {}

  /** Opens (and if need be converts) the store file; commits happen only when the caller commits. */
  static MVStore open(Path file) {
    Path upgrade = file.resolveSibling(file.getFileName() + ".upgrade");
    deleteIfExists(upgrade);
    MVStore store = builder(file).open();
    try {
      if (store.getStoreVersion() == VERSION) {
        openAllMaps(store);
        return store;
      }
      if (store.getMapNames().isEmpty()) {
        store.setStoreVersion(VERSION);
        store.commit();
        store.sync();
        return store;
      }
      if (store.getStoreVersion() != 0) {
        throw new IllegalStateException("the store file " + file + " has format version " + store.getStoreVersion()
            + ", which this release of Parley does not know (it writes version " + VERSION + ")");
      }
    } catch (RuntimeException e) {
      store.closeImmediately();
      throw e;
    }
    convert(store, file, upgrade);
    MVStore converted = builder(file).open();
    openAllMaps(converted);
    return converted;
  }

  private static MVStore.Builder builder(Path file) {
    return new MVStore.Builder()
        .fileName(file.toString())
        .autoCommitDisabled()
        .autoCommitBufferSize(0)
        .pageSplitSize(PAGE_SPLIT_SIZE)
        .cacheSize(CACHE_MIB);
  }

  /** Opens a map of the H2 backend with Parley's types, or returns it if it is open already. */
  static MVMap<Object, Object> openMap(MVStore store, String name) {
    return store.openMap(name, new MVMap.Builder<Object, Object>()
        .keyType(BsonDataType.INSTANCE)
        .valueType(BsonDataType.INSTANCE));
  }

  private static void openAllMaps(MVStore store) {
    for (String name : store.getMapNames()) {
      openMap(store, name);
    }
  }

  private static void convert(MVStore legacy, Path file, Path upgrade) {
    log.info("converting the store file {} to Parley's format (once)", file);
    long entries = 0;
    long started = System.nanoTime();
    MVStore target = builder(upgrade).open();
    try {
      for (String name : legacy.getMapNames()) {
        MVMap<Object, Object> from = legacy.openMap(name);
        MVMap<Object, Object> to = openMap(target, name);
        for (Cursor<Object, Object> cursor = from.cursor(null); cursor.hasNext(); ) {
          Object key = cursor.next();
          to.put(key, cursor.getValue());
          if (++entries % COPY_COMMIT_ENTRIES == 0) {
            target.commit();
          }
        }
      }
      target.setStoreVersion(VERSION);
      target.commit();
      target.sync();
      target.close();
      legacy.close();
      Files.move(upgrade, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
      syncDirectory(file.toAbsolutePath().getParent());
    } catch (IOException e) {
      throw new UncheckedIOException("converting the store file " + file + " failed", e);
    } finally {
      if (!target.isClosed()) {
        target.closeImmediately();
      }
      if (!legacy.isClosed()) {
        legacy.closeImmediately();
      }
    }
    log.info("converted the store file {}: {} entries in {} ms", file, entries, (System.nanoTime() - started) / 1_000_000);
  }

  private static void syncDirectory(Path dir) throws IOException {
    try (FileChannel channel = FileChannel.open(dir, StandardOpenOption.READ)) {
      channel.force(true);
    }
  }

  private static void deleteIfExists(Path path) {
    try {
      Files.deleteIfExists(path);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot remove the unfinished store conversion " + path, e);
    }
  }
}
