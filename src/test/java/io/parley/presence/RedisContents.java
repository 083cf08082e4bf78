package io.parley.presence;

import java.util.ArrayList;
import java.util.List;
import org.redisson.api.RType;
import org.redisson.api.RedissonClient;
import org.redisson.client.codec.StringCodec;

/** Every key of a Redis database and every value under it, as text, to search for what must not be there. */
public final class RedisContents {
  private RedisContents() {}

  public static String everything(RedissonClient client) {
    List<String> parts = new ArrayList<>();
    for (String key : client.getKeys().getKeysStream().toList()) {
      parts.add(key);
      RType type = client.getKeys().getType(key);
      if (type == null) {
        continue;
      }
      switch (type) {
        case OBJECT -> parts.add(String.valueOf(client.getBucket(key, StringCodec.INSTANCE).get()));
        case MAP -> parts.add(client.getMap(key, StringCodec.INSTANCE).readAllMap().toString());
        case ZSET -> parts.add(client.getScoredSortedSet(key, StringCodec.INSTANCE).readAll().toString());
        case SET -> parts.add(client.getSet(key, StringCodec.INSTANCE).readAll().toString());
        case LIST -> parts.add(client.getList(key, StringCodec.INSTANCE).readAll().toString());
        default -> parts.add(type.toString());
      }
    }
    return String.join("\n", parts);
  }
}
