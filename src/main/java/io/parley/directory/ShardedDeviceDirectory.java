package io.parley.directory;

import io.parley.config.ParleySettings.DirectorySettings;
import io.parley.serialization.CborSerializable;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.TreeSet;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.Props;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.pubsub.Topic;
import org.apache.pekko.cluster.sharding.typed.javadsl.ClusterSharding;

/**
 * The {@link DeviceDirectory} of a node: reads go to the account's {@link KeyDirectory}, and a node-local
 * cache serves {@link #cachedDevices}. Every change of a device list is published on a cluster-wide
 * topic; each node's subscriber puts the new list into its cache.
 */
public final class ShardedDeviceDirectory implements DeviceDirectory {

  static final String TOPIC = "parley-device-lists";

  /** Published after an account's device list changed. */
  public record DeviceListChanged(String accountId, List<Integer> devices, long version) implements CborSerializable {
    DeviceList toList() {
      return new DeviceList(accountId, new TreeSet<>(devices), version);
    }
  }

  private final ClusterSharding sharding;
  private final Duration askTimeout;
  private final DeviceListCache cache;
  private final ActorRef<Topic.Command<DeviceListChanged>> topic;

  private ShardedDeviceDirectory(ClusterSharding sharding, Duration askTimeout, DeviceListCache cache,
                                 ActorRef<Topic.Command<DeviceListChanged>> topic) {
    this.sharding = sharding;
    this.askTimeout = askTimeout;
    this.cache = cache;
    this.topic = topic;
  }

  /** Starts this node's topic instance and cache subscriber. */
  public static ShardedDeviceDirectory start(ActorSystem<?> system, DirectorySettings settings, Duration askTimeout,
                                             Clock clock) {
    DeviceListCache cache = new DeviceListCache(settings.cacheMaxAccounts(), settings.cacheTtl(), clock);
    ActorRef<Topic.Command<DeviceListChanged>> topic = system.systemActorOf(
        Topic.create(DeviceListChanged.class, TOPIC), "device-list-topic", Props.empty());
    system.systemActorOf(subscriber(topic, cache), "device-list-cache", Props.empty());
    return new ShardedDeviceDirectory(ClusterSharding.get(system), askTimeout, cache, topic);
  }

  private static Behavior<DeviceListChanged> subscriber(ActorRef<Topic.Command<DeviceListChanged>> topic,
                                                        DeviceListCache cache) {
    return Behaviors.setup(ctx -> {
      topic.tell(Topic.subscribe(ctx.getSelf()));
      return Behaviors.receive(DeviceListChanged.class)
          .onMessage(DeviceListChanged.class, changed -> {
            cache.offer(changed.toList());
            return Behaviors.same();
          })
          .build();
    });
  }

  /** What the account directories of this node tell the cluster: list changes on the topic, the rest to sessions. */
  public DirectoryNotices notices() {
    return new ClusterDirectoryNotices(sharding, list -> topic.tell(Topic.publish(
        new DeviceListChanged(list.accountId(), List.copyOf(list.devices()), list.version()))));
  }

  @Override
  public CompletionStage<DeviceList> devices(String accountId) {
    return sharding.entityRefFor(KeyDirectory.ENTITY_KEY, accountId)
        .<KeyDirectory.Reply>ask(KeyDirectory.GetDevices::new, askTimeout)
        .thenApply(reply -> {
          KeyDirectory.Devices devices = (KeyDirectory.Devices) reply;
          DeviceList list = new DeviceList(accountId, new TreeSet<>(devices.devices()), devices.version());
          cache.offer(list);
          return list;
        });
  }

  @Override
  public CompletionStage<DeviceList> cachedDevices(String accountId) {
    Optional<DeviceListCache.Cached> cached = cache.get(accountId);
    if (cached.isEmpty()) {
      return devices(accountId);
    }
    if (cached.get().refresh()) {
      // read again in the background; the cached list answers meanwhile
      devices(accountId).whenComplete((list, failure) -> {
        if (failure != null) {
          cache.refreshFailed(accountId);
        }
      });
    }
    return CompletableFuture.completedFuture(cached.get().list());
  }
}
