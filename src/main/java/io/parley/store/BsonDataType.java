package io.parley.store;

import de.bwaldvogel.mongo.backend.KeyValue;
import de.bwaldvogel.mongo.backend.Missing;
import de.bwaldvogel.mongo.backend.ValueComparator;
import de.bwaldvogel.mongo.bson.Document;
import de.bwaldvogel.mongo.wire.bson.BsonDecoder;
import de.bwaldvogel.mongo.wire.bson.BsonEncoder;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.h2.mvstore.DataUtils;
import org.h2.mvstore.WriteBuffer;
import org.h2.mvstore.type.BasicDataType;
import org.h2.mvstore.type.ObjectDataType;

/**
 * Keys and values of the embedded store's maps, written in the form the MongoDB wire protocol uses.
 *
 * <p>The H2 backend otherwise keeps them with H2's {@link ObjectDataType}, which Java-serializes
 * documents, ids and index keys: every page write serializes each entry with a fresh
 * {@code ObjectOutputStream}, and every comparison of two index keys ({@link KeyValue} is not
 * {@link Comparable}) serializes both. Here a document is its BSON bytes, a value is a BSON type byte
 * and the value's BSON bytes, an index key is its elements one after the other, and keys compare in
 * MongoDB's order without serializing anything.
 *
 * <p>A document is stored exactly as the server would answer it on the wire: what a client can read
 * back does not change. Anything BSON cannot express is left to {@link ObjectDataType}, whose type
 * tags never collide with the ones below (it uses 0–119).
 *
 * <p>The order of keys differs from {@link ObjectDataType}'s, so a store written with one cannot be
 * read with the other: {@link StoreFormat} converts a store once, when it is opened.
 */
final class BsonDataType extends BasicDataType<Object> {

  static final BsonDataType INSTANCE = new BsonDataType();

  private static final byte TAG_DOCUMENT = 120;
  private static final byte TAG_VALUE = 121;
  private static final byte TAG_KEY_VALUE = 122;
  private static final byte TAG_MISSING = 123;

  /** Per-entry overhead in H2's memory accounting, which decides when a page splits. */
  private static final int ENTRY_MEMORY = 24;

  private static final ValueComparator ORDER = ValueComparator.ascWithoutListHandling();

  private final ObjectDataType fallback = new ObjectDataType();

  private BsonDataType() {}

  @Override
  public Object[] createStorage(int size) {
    return new Object[size];
  }

  @Override
  public int compare(Object a, Object b) {
    if (a == b) {
      return 0;
    }
    if (a instanceof KeyValue ka && b instanceof KeyValue kb) {
      int common = Math.min(ka.size(), kb.size());
      for (int i = 0; i < common; i++) {
        int c = compareValues(ka.get(i), kb.get(i));
        if (c != 0) {
          return c;
        }
      }
      return Integer.compare(ka.size(), kb.size());
    }
    return compareValues(a, b);
  }

  /**
   * MongoDB's order, made total: values it holds equal (1, 1L and 1.0; null and a missing field) are
   * told apart by class, and values of one class by their own natural order.
   */
  @SuppressWarnings({"unchecked", "rawtypes"})
  private int compareValues(Object a, Object b) {
    if (a == b) {
      return 0;
    }
    if (a instanceof KeyValue || b instanceof KeyValue) {
      return a instanceof KeyValue ? 1 : -1;
    }
    int c;
    try {
      c = ORDER.compare(a, b);
    } catch (RuntimeException unsupported) {
      c = 0;
    }
    if (c != 0) {
      return c;
    }
    String classA = a == null ? "" : a.getClass().getName();
    String classB = b == null ? "" : b.getClass().getName();
    c = classA.compareTo(classB);
    if (c != 0 || a == null) {
      return c;
    }
    if (a instanceof Comparable comparable) {
      return comparable.compareTo(b);
    }
    return a.equals(b) ? 0 : fallback.compare(a, b);
  }

  @Override
  public int getMemory(Object obj) {
    return ENTRY_MEMORY + estimate(obj);
  }

  /** A cheap estimate of the encoded size: H2 calls this on every put. */
  private static int estimate(Object value) {
    if (value instanceof Map<?, ?> map) {
      int size = 5;
      for (Map.Entry<?, ?> entry : map.entrySet()) {
        size += 2 + entry.getKey().toString().length() + estimate(entry.getValue());
      }
      return size;
    }
    if (value instanceof List<?> list) {
      int size = 5;
      for (Object element : list) {
        size += 3 + estimate(element);
      }
      return size;
    }
    if (value instanceof KeyValue key) {
      int size = 1;
      for (Object element : key) {
        size += 1 + estimate(element);
      }
      return size;
    }
    if (value instanceof String s) {
      return 5 + s.length();
    }
    if (value instanceof de.bwaldvogel.mongo.bson.BinData bin) {
      return 5 + bin.getData().length;
    }
    return 16;
  }

  @Override
  public void write(WriteBuffer buff, Object obj) {
    ByteBuf out = Unpooled.buffer(256);
    try {
      if (obj instanceof Document document) {
        out.writeByte(TAG_DOCUMENT);
        BsonEncoder.encodeDocument(document, out);
      } else if (obj instanceof KeyValue key) {
        out.writeByte(TAG_KEY_VALUE);
        writeVarInt(out, key.size());
        for (Object element : key) {
          writeValue(out, element);
        }
      } else {
        writeValue(out, obj);
      }
    } catch (IllegalArgumentException | ClassCastException notBson) {
      fallback.write(buff, obj);
      return;
    }
    buff.put(out.array(), out.arrayOffset() + out.readerIndex(), out.readableBytes());
  }

  private static void writeValue(ByteBuf out, Object value) {
    if (value instanceof Missing) {
      out.writeByte(TAG_MISSING);
      return;
    }
    byte type = BsonEncoder.determineType(value);
    out.writeByte(TAG_VALUE);
    out.writeByte(type);
    BsonEncoder.encodeValue(type, value, out);
  }

  private static void writeVarInt(ByteBuf out, int value) {
    while ((value & ~0x7f) != 0) {
      out.writeByte((value & 0x7f) | 0x80);
      value >>>= 7;
    }
    out.writeByte(value);
  }

  @Override
  public Object read(ByteBuffer buff) {
    byte tag = buff.get(buff.position());
    switch (tag) {
      case TAG_DOCUMENT -> {
        buff.get();
        ByteBuf in = Unpooled.wrappedBuffer(buff);
        Document document = BsonDecoder.decodeBson(in);
        buff.position(buff.position() + in.readerIndex());
        return document;
      }
      case TAG_KEY_VALUE -> {
        buff.get();
        int size = DataUtils.readVarInt(buff);
        List<Object> elements = new ArrayList<>(size);
        for (int i = 0; i < size; i++) {
          elements.add(readValue(buff));
        }
        return new KeyValue(elements);
      }
      case TAG_VALUE, TAG_MISSING -> {
        return readValue(buff);
      }
      default -> {
        return fallback.read(buff);
      }
    }
  }

  private static Object readValue(ByteBuffer buff) {
    byte tag = buff.get();
    if (tag == TAG_MISSING) {
      return Missing.getInstance();
    }
    if (tag != TAG_VALUE) {
      throw new IllegalStateException("corrupt store value: tag " + tag);
    }
    byte type = buff.get();
    ByteBuf in = Unpooled.wrappedBuffer(buff);
    Object value = BsonDecoder.decodeValue(type, in);
    buff.position(buff.position() + in.readerIndex());
    return value;
  }
}
