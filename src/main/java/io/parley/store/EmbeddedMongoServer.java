package io.parley.store;

import de.bwaldvogel.mongo.MongoBackend;
import de.bwaldvogel.mongo.MongoServer;
import de.bwaldvogel.mongo.backend.memory.MemoryBackend;
import io.parley.config.ParleySettings.EmbeddedStore;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A MongoDB-wire server inside the node, for a laptop or a single-node deployment without MongoDB.
 *
 * <p>Durable mode keeps the data in memory and logs every write to a command log in the data directory
 * ({@link LoggedMemoryBackend}, {@link DurableStore}); a write is acknowledged only after its log record
 * is written: a process killed right after an acknowledgement loses nothing; with {@code fsync} on,
 * neither does a power cut. In-memory mode keeps nothing across restarts.
 */
public final class EmbeddedMongoServer implements AutoCloseable {

  private static final Logger log = LoggerFactory.getLogger(EmbeddedMongoServer.class);

  /**
   * The backend answers on the network threads and a write blocks its thread until its group commit:
   * a commit can only gather the writers that have a thread, so there are many.
   */
  private static final int WORKER_THREADS = 128;

  private final MongoServer server;
  private final InetSocketAddress address;
  private final LoggedMemoryBackend durableBackend;
  private final DataDirLock lock;
  private volatile boolean closed;

  private EmbeddedMongoServer(MongoServer server, LoggedMemoryBackend durableBackend, DataDirLock lock) {
    this.server = server;
    this.address = server.getLocalAddress();
    this.durableBackend = durableBackend;
    this.lock = lock;
  }

  public static EmbeddedMongoServer start(EmbeddedStore settings) {
    InetSocketAddress bindAddress = new InetSocketAddress(settings.host(), settings.port());
    if (settings.inMemory()) {
      MongoServer server = bind(new MemoryBackend(), bindAddress);
      log.info("embedded store listening on {} (in memory: nothing survives a restart)", server.getLocalAddress());
      return new EmbeddedMongoServer(server, null, null);
    }
    DataDirLock lock = DataDirLock.acquire(settings.dataDir());
    LoggedMemoryBackend backend = null;
    try {
      backend = DurableStore.open(settings.dataDir(), settings.fsync());
      MongoServer server = bind(backend, bindAddress);
      log.info("embedded store listening on {} (durable in {}, fsync {})",
          server.getLocalAddress(), lock.file().getParent(), settings.fsync() ? "on" : "off");
      return new EmbeddedMongoServer(server, backend, lock);
    } catch (RuntimeException e) {
      if (backend != null) {
        backend.close();
      }
      lock.close();
      throw e;
    }
  }

  static Path storeFile(Path dataDir) {
    return DurableStore.logFile(dataDir);
  }

  private static MongoServer bind(MongoBackend backend, InetSocketAddress address) {
    MongoServer server = new MongoServer(backend);
    server.bind(address, 1, WORKER_THREADS);
    return server;
  }

  /** {@code mongodb://host:port} of the running server. */
  public String connectionString() {
    return "mongodb://" + address.getHostString() + ":" + address.getPort();
  }

  public InetSocketAddress address() {
    return address;
  }

  public boolean isInMemory() {
    return durableBackend == null;
  }

  /** The durable backend's log writer statistics; empty in memory. */
  Optional<CommandLog.Stats> commitStats() {
    return Optional.ofNullable(durableBackend).map(LoggedMemoryBackend::stats);
  }

  /** False once a commit has failed (the store then refuses every command) or after close. */
  public boolean isHealthy() {
    return !closed && (durableBackend == null || durableBackend.isHealthy());
  }

  /** Stops listening, answers the commands in flight, commits and closes the files, frees the data dir. */
  @Override
  public synchronized void close() {
    if (closed) {
      return;
    }
    closed = true;
    try {
      server.shutdown();
    } finally {
      if (lock != null) {
        lock.close();
      }
    }
    log.info("embedded store on {} closed", address);
  }
}
