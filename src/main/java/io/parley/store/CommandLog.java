package io.parley.store;

import de.bwaldvogel.mongo.bson.Document;
import de.bwaldvogel.mongo.wire.bson.BsonDecoder;
import de.bwaldvogel.mongo.wire.bson.BsonEncoder;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Consumer;
import java.util.zip.CRC32C;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * An append-only file of BSON records with group commit.
 *
 * <p>A record is framed as its length, its CRC-32C and its BSON bytes. {@link #append} queues a record
 * under a ticket; one writer thread writes everything queued with one write and (with {@code fsync})
 * one {@code fdatasync}, then marks every ticket it covered durable. A crash can only tear the last
 * record: {@link #read} stops at the first record whose frame or checksum does not hold, and
 * {@link #openForAppend} cuts the file there.
 */
final class CommandLog implements AutoCloseable {

  private static final Logger log = LoggerFactory.getLogger(CommandLog.class);

  private static final int HEADER = 8;
  /** A record longer than this is taken for a torn frame. */
  private static final int MAX_RECORD = 256 * 1024 * 1024;

  private final FileChannel channel;
  private final boolean fsync;

  private final ReentrantLock lock = new ReentrantLock();
  private final Condition queued = lock.newCondition();
  private final Condition advanced = lock.newCondition();
  private List<ByteBuffer> pending = new ArrayList<>(); // guarded by lock
  private long pendingTicket; // guarded by lock: the highest ticket queued
  private volatile long durable;
  private boolean closing; // guarded by lock
  private volatile Throwable failure;
  private volatile boolean stopped;
  private final Thread writer;

  private final AtomicLong commits = new AtomicLong();
  private final AtomicLong records = new AtomicLong();
  private final AtomicLong bytes = new AtomicLong();
  private final AtomicLong syncNanos = new AtomicLong();

  /** What the writer has done so far. */
  record Stats(long commits, long records, long bytes, long syncNanos) {}

  private CommandLog(FileChannel channel, boolean fsync, long ticket) {
    this.channel = channel;
    this.fsync = fsync;
    this.pendingTicket = ticket;
    this.durable = ticket;
    this.writer = new Thread(this::runWriter, "parley-store-log-writer");
    this.writer.setDaemon(true);
  }

  /** Opens the log for appending after its last whole record, cutting a torn tail off. */
  static CommandLog openForAppend(Path file, long validLength, boolean fsync) {
    try {
      FileChannel channel = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE);
      if (channel.size() > validLength) {
        log.warn("cutting {} bytes of an unfinished record off the end of {}", channel.size() - validLength, file);
        channel.truncate(validLength);
        channel.force(true);
      }
      channel.position(validLength);
      CommandLog commandLog = new CommandLog(channel, fsync, 0);
      commandLog.writer.start();
      return commandLog;
    } catch (IOException e) {
      throw new UncheckedIOException("cannot open the store log " + file, e);
    }
  }

  /** Hands every whole record to {@code apply} in order; returns the length of the whole records. */
  static long read(Path file, Consumer<Document> apply) {
    if (!Files.exists(file)) {
      return 0;
    }
    try (FileChannel channel = FileChannel.open(file, StandardOpenOption.READ)) {
      long size = channel.size();
      long position = 0;
      ByteBuffer header = ByteBuffer.allocate(HEADER).order(ByteOrder.LITTLE_ENDIAN);
      CRC32C crc = new CRC32C();
      while (position + HEADER <= size) {
        header.clear();
        readFully(channel, header, position);
        int length = header.getInt(0);
        int checksum = header.getInt(4);
        if (length <= 0 || length > MAX_RECORD || position + HEADER + length > size) {
          break;
        }
        ByteBuffer body = ByteBuffer.allocate(length);
        readFully(channel, body, position + HEADER);
        crc.reset();
        crc.update(body.array(), 0, length);
        if ((int) crc.getValue() != checksum) {
          break;
        }
        apply.accept(BsonDecoder.decodeBson(Unpooled.wrappedBuffer(body.array())));
        position += HEADER + length;
      }
      return position;
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read the store log " + file, e);
    }
  }

  /**
   * Writes {@code records} as a new log that replaces {@code file} atomically: a crash leaves either
   * the old log or the new one.
   */
  static void rewrite(Path file, Iterable<Document> records) {
    Path next = file.resolveSibling(file.getFileName() + ".next");
    try (FileChannel channel = FileChannel.open(next, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
        StandardOpenOption.TRUNCATE_EXISTING)) {
      for (Document record : records) {
        ByteBuffer frame = frame(record);
        while (frame.hasRemaining()) {
          channel.write(frame);
        }
      }
      channel.force(true);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot write the store log " + next, e);
    }
    try {
      Files.move(next, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
      syncDirectory(file.toAbsolutePath().getParent());
    } catch (IOException e) {
      throw new UncheckedIOException("cannot replace the store log " + file, e);
    }
  }

  static void syncDirectory(Path dir) throws IOException {
    try (FileChannel channel = FileChannel.open(dir, StandardOpenOption.READ)) {
      channel.force(true);
    }
  }

  private static void readFully(FileChannel channel, ByteBuffer buffer, long position) throws IOException {
    while (buffer.hasRemaining()) {
      if (channel.read(buffer, position + buffer.position()) < 0) {
        throw new IOException("unexpected end of the store log");
      }
    }
  }

  static ByteBuffer frame(Document record) {
    ByteBuf bson = Unpooled.buffer();
    BsonEncoder.encodeDocument(record, bson);
    int length = bson.readableBytes();
    ByteBuffer frame = ByteBuffer.allocate(HEADER + length).order(ByteOrder.LITTLE_ENDIAN);
    frame.putInt(length);
    frame.putInt(0);
    bson.readBytes(frame);
    CRC32C crc = new CRC32C();
    crc.update(frame.array(), HEADER, length);
    frame.putInt(4, (int) crc.getValue());
    frame.flip();
    return frame;
  }

  /**
   * Queues a framed record (or none) under {@code ticket}. Tickets must be appended in increasing order;
   * the caller keeps that order.
   */
  void append(long ticket, ByteBuffer frame) {
    lock.lock();
    try {
      if (frame != null) {
        pending.add(frame);
      }
      pendingTicket = ticket;
      queued.signal();
    } finally {
      lock.unlock();
    }
  }

  /** Returns once every record queued up to {@code ticket} is written (and synced with fsync on). */
  void awaitDurable(long ticket) {
    if (durable >= ticket) {
      return;
    }
    lock.lock();
    try {
      while (durable < ticket) {
        checkHealthy();
        advanced.awaitUninterruptibly();
      }
    } finally {
      lock.unlock();
    }
  }

  void checkHealthy() {
    Throwable cause = failure;
    if (cause != null) {
      throw new IllegalStateException("the Parley store failed to write its log and stopped: " + cause, cause);
    }
    if (stopped) {
      throw new IllegalStateException("the Parley store is closed");
    }
  }

  boolean isHealthy() {
    return failure == null && !stopped;
  }

  Stats stats() {
    return new Stats(commits.get(), records.get(), bytes.get(), syncNanos.get());
  }

  private void runWriter() {
    try {
      while (true) {
        List<ByteBuffer> batch;
        long ticket;
        boolean stop;
        lock.lock();
        try {
          while (pendingTicket <= durable && !closing) {
            queued.awaitUninterruptibly();
          }
          batch = pending;
          pending = new ArrayList<>();
          ticket = pendingTicket;
          stop = closing;
        } finally {
          lock.unlock();
        }
        if (!batch.isEmpty()) {
          write(batch);
        }
        lock.lock();
        try {
          durable = ticket;
          advanced.signalAll();
        } finally {
          lock.unlock();
        }
        if (stop && ticket == pendingTicketNow()) {
          break;
        }
      }
    } catch (Throwable e) {
      log.error("writing the store log failed; the store refuses all further commands", e);
      failure = e;
    } finally {
      lock.lock();
      try {
        stopped = true;
        advanced.signalAll();
      } finally {
        lock.unlock();
      }
    }
  }

  private long pendingTicketNow() {
    lock.lock();
    try {
      return pendingTicket;
    } finally {
      lock.unlock();
    }
  }

  private void write(List<ByteBuffer> batch) throws IOException {
    ByteBuffer[] buffers = batch.toArray(ByteBuffer[]::new);
    long written = 0;
    long remaining = 0;
    for (ByteBuffer buffer : buffers) {
      remaining += buffer.remaining();
    }
    while (written < remaining) {
      written += channel.write(buffers);
    }
    long syncStart = System.nanoTime();
    if (fsync) {
      channel.force(false);
    }
    syncNanos.addAndGet(System.nanoTime() - syncStart);
    commits.incrementAndGet();
    records.addAndGet(buffers.length);
    bytes.addAndGet(written);
  }

  /** Writes what is queued, stops the writer and closes the file. */
  @Override
  public void close() {
    lock.lock();
    try {
      closing = true;
      queued.signal();
    } finally {
      lock.unlock();
    }
    try {
      writer.join();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    try {
      if (failure == null) {
        channel.force(true);
      }
      channel.close();
    } catch (IOException e) {
      throw new UncheckedIOException("cannot close the store log", e);
    }
  }
}
