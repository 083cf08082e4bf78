package io.parley.agent.registry;

import io.parley.agent.AgentSpec;
import io.parley.agent.RegistrySnapshot;
import io.parley.agent.RoutingTable;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Consumer;
import java.util.stream.Collectors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A node's copy of the agent registry: a lock-free read of the newest snapshot it has been offered. Older or
 * equal versions are ignored, so snapshots may arrive in any order and from any source (Redis at start, the
 * cluster afterwards). Listeners run on the offering thread after the table has changed. Thread-safe.
 */
public final class LocalRoutingTable implements RoutingTable {
  private static final Logger log = LoggerFactory.getLogger(LocalRoutingTable.class);

  /** A snapshot with its agents' accounts as a set, made once when the snapshot arrives. */
  private record Held(RegistrySnapshot snapshot, Set<String> accounts) {
    static Held of(RegistrySnapshot snapshot) {
      return new Held(snapshot, snapshot.agents().stream().map(AgentSpec::accountId)
          .collect(Collectors.toUnmodifiableSet()));
    }
  }

  private final AtomicReference<Held> current = new AtomicReference<>(Held.of(RegistrySnapshot.EMPTY));
  private final List<Consumer<RegistrySnapshot>> listeners = new CopyOnWriteArrayList<>();

  @Override
  public RegistrySnapshot current() {
    return current.get().snapshot();
  }

  @Override
  public boolean isAgentAccount(String accountId) {
    return current.get().accounts().contains(accountId);
  }

  /** Calls {@code listener} with every newer snapshot from now on. */
  public void onChange(Consumer<RegistrySnapshot> listener) {
    listeners.add(listener);
  }

  /** Takes {@code snapshot} if it is newer than the current one; returns whether it did. */
  public boolean offer(RegistrySnapshot snapshot) {
    Held next = Held.of(snapshot);
    Held before;
    do {
      before = current.get();
      if (!snapshot.isNewerThan(before.snapshot())) {
        return false;
      }
    } while (!current.compareAndSet(before, next));
    for (Consumer<RegistrySnapshot> listener : listeners) {
      try {
        listener.accept(snapshot);
      } catch (RuntimeException e) {
        log.warn("An agent registry listener failed on version {}", snapshot.version(), e);
      }
    }
    return true;
  }
}
