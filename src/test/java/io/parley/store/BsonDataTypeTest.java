package io.parley.store;

import static org.assertj.core.api.Assertions.assertThat;

import de.bwaldvogel.mongo.backend.KeyValue;
import de.bwaldvogel.mongo.backend.Missing;
import de.bwaldvogel.mongo.bson.BinData;
import de.bwaldvogel.mongo.bson.BsonTimestamp;
import de.bwaldvogel.mongo.bson.Decimal128;
import de.bwaldvogel.mongo.bson.Document;
import de.bwaldvogel.mongo.bson.LegacyUUID;
import de.bwaldvogel.mongo.bson.MaxKey;
import de.bwaldvogel.mongo.bson.MinKey;
import de.bwaldvogel.mongo.bson.ObjectId;
import java.math.BigInteger;
import java.nio.ByteBuffer;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.UUID;
import org.h2.mvstore.WriteBuffer;
import org.junit.jupiter.api.Test;

class BsonDataTypeTest {

  private final BsonDataType type = BsonDataType.INSTANCE;

  private Object roundTrip(Object value) {
    WriteBuffer out = new WriteBuffer();
    type.write(out, value);
    type.write(out, "next");
    ByteBuffer in = out.getBuffer();
    in.flip();
    Object read = type.read(in);
    assertThat(type.read(in)).as("the value after it").isEqualTo("next");
    assertThat(in.hasRemaining()).isFalse();
    return read;
  }

  @Test
  void documentsKeepEveryBsonTypeAndTheFieldOrder() {
    Document document = new Document("_id", new ObjectId())
        .append("pid", "Conversation|c-1")
        .append("from", 7L)
        .append("n", 3)
        .append("ratio", 0.5)
        .append("price", new Decimal128(1, 2))
        .append("at", Instant.ofEpochMilli(1_700_000_000_123L))
        .append("ts", new BsonTimestamp(42L))
        .append("uuid", UUID.randomUUID())
        .append("legacy", new LegacyUUID(UUID.randomUUID()))
        .append("payload", new BinData(new byte[] {1, 2, 3}))
        .append("events", List.of(new Document("sn", 1L), new Document("sn", 2L)))
        .append("nothing", null)
        .append("flag", true)
        .append("low", MinKey.getInstance())
        .append("high", MaxKey.getInstance());

    Object read = roundTrip(document);

    assertThat(read).isEqualTo(document);
    assertThat(((Document) read).keySet()).containsExactlyElementsOf(document.keySet());
  }

  @Test
  void indexKeysAndIdsRoundTrip() {
    KeyValue key = new KeyValue("Conversation|c-1", 1L, null, Missing.getInstance());
    assertThat(roundTrip(key)).isEqualTo(key);
    ObjectId id = new ObjectId();
    assertThat(roundTrip(id)).isEqualTo(id);
    assertThat(roundTrip(Missing.getInstance())).isSameAs(Missing.getInstance());
    assertThat(roundTrip(12L)).isEqualTo(12L);
  }

  @Test
  void whatBsonCannotExpressIsKeptByH2sOwnType() {
    assertThat(roundTrip(new BigInteger("123456789012345678901234567890")))
        .isEqualTo(new BigInteger("123456789012345678901234567890"));
    Document withFloat = new Document("f", 1.5f);
    assertThat(((Document) roundTrip(withFloat)).get("f")).isEqualTo(1.5f);
  }

  @Test
  void ordersLikeMongoDbAndTellsEqualNumbersOfDifferentTypesApart() {
    // fixed ids: two fresh ones need not order by creation (their counter can wrap)
    ObjectId first = new ObjectId("6560f0000000000000000001");
    ObjectId second = new ObjectId("6560f0010000000000000001");
    assertThat(type.compare(first, second)).isNegative();
    assertThat(type.compare(1, "a")).isNegative();
    assertThat(type.compare("a", "b")).isNegative();
    assertThat(type.compare(new KeyValue("p", 2L), new KeyValue("p", 10L))).isNegative();
    assertThat(type.compare(new KeyValue(1), new KeyValue(1L))).isNotZero();
    assertThat(type.compare(new KeyValue(1L), new KeyValue(1L))).isZero();
    assertThat(type.compare(Long.MAX_VALUE, Long.MAX_VALUE - 1)).isPositive();
  }

  @Test
  void orderIsTotalAndConsistent() {
    List<Object> values = new ArrayList<>(Arrays.asList(
        null, Missing.getInstance(), 1, 1L, 1.0, 2, -3L, "a", "b", new Document("a", 1), new Document("a", 1L),
        new ObjectId(), new ObjectId(), true, false, Instant.ofEpochMilli(5), UUID.randomUUID(),
        new KeyValue("a", 1), new KeyValue("a", 2), MinKey.getInstance(), MaxKey.getInstance()));
    for (Object a : values) {
      assertThat(type.compare(a, a)).isZero();
      for (Object b : values) {
        assertThat(Integer.signum(type.compare(a, b))).as("%s vs %s", a, b)
            .isEqualTo(-Integer.signum(type.compare(b, a)));
        if (a != b) {
          assertThat(type.compare(a, b)).as("%s vs %s", a, b).isNotZero();
        }
        for (Object c : values) {
          if (type.compare(a, b) < 0 && type.compare(b, c) < 0) {
            assertThat(type.compare(a, c)).as("%s < %s < %s", a, b, c).isNegative();
          }
        }
      }
    }
  }
}
