package io.parley.cluster;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.parley.client.ConnectionState;
import io.parley.client.DecryptedMessage;
import io.parley.client.Listener;
import io.parley.client.ParleyClient;
import io.parley.client.ParleyClientException;
import io.parley.client.SentMessage;
import io.parley.client.StoreKey;
import io.parley.client.TokenSupplier;
import io.parley.testing.DevAccounts;
import java.net.URI;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * SDK clients in pairs, one conversation per pair, each client sending to its peer all the time. Client {@code i} starts on server {@code i mod n} and rotates through the
 * list when it reconnects, so the clients spread over the nodes. Afterwards it checks that every
 * acknowledged message reached the peer once and in order, and reports the client-visible pauses: from a
 * client's loss of its connection to its next acknowledged send.
 */
final class ChatLoad implements AutoCloseable {
  static final Duration WAIT = Duration.ofSeconds(90);

  /** One client: what it sent (in send order), what it got, and its pauses. */
  static final class Client implements Listener {
    final String handle;
    final DevAccounts.Account account;
    final List<URI> servers;
    final List<CompletableFuture<Long>> sends = new CopyOnWriteArrayList<>();
    final List<String> sentTexts = new CopyOnWriteArrayList<>();
    final List<DecryptedMessage> received = new CopyOnWriteArrayList<>();
    final List<Long> pausesMs = new CopyOnWriteArrayList<>();
    final List<Long> reconnectsMs = new CopyOnWriteArrayList<>();
    final List<ParleyClientException> errors = new CopyOnWriteArrayList<>();
    final AtomicLong acked = new AtomicLong();
    final AtomicLong disconnects = new AtomicLong();
    // confined to the client's delivery thread, where state changes and acks arrive in order
    private long disconnectedAt = -1;
    Client peer;
    String conversationId;
    ParleyClient client;
    StoreKey storeKey;
    Path storeDir;

    Client(String handle, DevAccounts.Account account, List<URI> servers) {
      this.handle = handle;
      this.account = account;
      this.servers = servers;
    }

    @Override
    public void onConnectionState(ConnectionState state) {
      if (state == ConnectionState.CONNECTED && disconnectedAt >= 0) {
        reconnectsMs.add(TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - disconnectedAt));
      }
      if (state != ConnectionState.CONNECTED && disconnectedAt < 0 && acked.get() > 0) {
        disconnectedAt = System.nanoTime();
        disconnects.incrementAndGet();
      }
    }

    @Override
    public void onSent(SentMessage sent) {
      acked.incrementAndGet();
      if (disconnectedAt >= 0) {
        pausesMs.add(TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - disconnectedAt));
        disconnectedAt = -1;
      }
    }

    @Override
    public void onMessage(DecryptedMessage message) {
      received.add(message);
    }

    @Override
    public void onError(ParleyClientException error) {
      errors.add(error);
    }

    List<DecryptedMessage> fromPeer() {
      return received.stream().filter(m -> m.fromUser().equals(peer.account.accountId())).toList();
    }
  }

  private final List<Client> clients = new ArrayList<>();
  private final ScheduledExecutorService senders = Executors.newScheduledThreadPool(2, runnable -> {
    Thread thread = new Thread(runnable, "chat-load");
    thread.setDaemon(true);
    return thread;
  });
  private volatile boolean sending;

  /** Logs in and starts {@code 2 * pairs} clients, and creates one conversation per pair. */
  ChatLoad(List<URI> servers, Path stores, int pairs, String prefix) {
    int loginPort = servers.get(0).getPort();
    for (int i = 0; i < 2 * pairs; i++) {
      String handle = prefix + "-" + i;
      List<URI> rotated = new ArrayList<>();
      for (int k = 0; k < servers.size(); k++) {
        rotated.add(servers.get((i + k) % servers.size()));
      }
      clients.add(new Client(handle, DevAccounts.login(loginPort, handle), rotated));
    }
    for (Client c : clients) {
      byte[] key = new byte[32];
      new SecureRandom().nextBytes(key);
      c.storeKey = StoreKey.raw(key);
      c.storeDir = stores.resolve(c.handle);
    }
    clients.forEach(ChatLoad::startClient);
    for (int p = 0; p < pairs; p++) {
      Client a = clients.get(2 * p);
      Client b = clients.get(2 * p + 1);
      a.peer = b;
      b.peer = a;
      a.conversationId = b.conversationId = "c-" + UUID.randomUUID();
      a.client.createConversation(a.conversationId, List.of(b.account.accountId()))
          .orTimeout(WAIT.toSeconds(), TimeUnit.SECONDS).join();
    }
  }

  /**
   * Starts the client, again over the same store after a retryable refusal, as an app does: on a cold,
   * busy cluster the key directory's first answer can take longer than a request may wait.
   */
  private static void startClient(Client c) {
    for (int attempt = 1; ; attempt++) {
      c.client = ParleyClient.builder()
          .servers(c.servers)
          .tokens(TokenSupplier.fixed(c.account.token()))
          .device(1)
          .store(c.storeDir, c.storeKey)
          .reconnectBackoff(Duration.ofMillis(100), Duration.ofSeconds(2))
          .oneTimePreKeys(5)
          .listener(c)
          .build();
      try {
        c.client.start().orTimeout(WAIT.toSeconds(), TimeUnit.SECONDS).join();
        return;
      } catch (java.util.concurrent.CompletionException e) {
        c.client.close();
        if (attempt == 3 || !(e.getCause() instanceof ParleyClientException.ServerError error && error.retryable())) {
          throw e;
        }
      }
    }
  }

  List<Client> clients() {
    return clients;
  }

  /**
   * Every client sends a message, waits for its ack, pauses {@code period}, and sends the next: one send in
   * flight per client, as a client that needs its own messages in the order it wrote them sends (with
   * several in flight, a send that fails with a retryable error while a later one is stored is retried
   * behind it: stored once, delivered in seq order, but not in the order it was written; ADR 0014).
   */
  void startSending(Duration period) {
    sending = true;
    for (int i = 0; i < clients.size(); i++) {
      Client c = clients.get(i);
      senders.schedule(() -> sendNext(c, period), period.toMillis() * i / clients.size(), TimeUnit.MILLISECONDS);
    }
  }

  private void sendNext(Client c, Duration period) {
    if (!sending) {
      return;
    }
    String text = c.handle + " #" + c.sentTexts.size();
    c.sentTexts.add(text);
    CompletableFuture<Long> sent = c.client.send(c.conversationId, text);
    c.sends.add(sent);
    sent.whenComplete((seq, error) -> {
      if (error == null && !senders.isShutdown()) {
        senders.schedule(() -> sendNext(c, period), period.toMillis(), TimeUnit.MILLISECONDS);
      }
    });
  }

  long totalAcked() {
    return clients.stream().mapToLong(c -> c.acked.get()).sum();
  }

  /** Waits until every client has had {@code more} further sends acknowledged. */
  void awaitProgress(int more) {
    List<Long> before = clients.stream().map(c -> c.acked.get()).toList();
    await().atMost(WAIT).untilAsserted(() -> {
      for (int i = 0; i < clients.size(); i++) {
        assertThat(clients.get(i).acked.get()).as("acks of %s", clients.get(i).handle)
            .isGreaterThanOrEqualTo(before.get(i) + more);
      }
    });
  }

  /**
   * Stops sending, waits for every send's ack and for every peer to have received them, and checks:
   * nothing acknowledged lost, nothing twice, everything in send order, and the peer's seqs are the acked
   * ones.
   */
  void stopAndVerify() {
    sending = false;
    senders.shutdown();
    try {
      assertThat(senders.awaitTermination(10, TimeUnit.SECONDS)).isTrue();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
    for (Client c : clients) {
      List<Long> seqs = c.sends.stream().map(f -> f.orTimeout(WAIT.toSeconds(), TimeUnit.SECONDS).join()).toList();
      assertThat(seqs).as("seqs acked to %s", c.handle).doesNotHaveDuplicates();
      await().atMost(WAIT).until(() -> c.peer.fromPeer().size() >= seqs.size());
      List<DecryptedMessage> got = c.peer.fromPeer();
      assertThat(got).extracting(DecryptedMessage::text).as("what %s got from %s: once each, in order",
          c.peer.handle, c.handle).containsExactlyElementsOf(c.sentTexts);
      assertThat(got).extracting(DecryptedMessage::seq).as("seqs").containsExactlyElementsOf(seqs);
    }
    for (Client c : clients) {
      List<Long> all = c.received.stream().map(DecryptedMessage::seq).toList();
      assertThat(all).as("every seq %s received is new and in order", c.handle).isSorted().doesNotHaveDuplicates();
    }
  }

  List<Long> pausesMs() {
    return clients.stream().flatMap(c -> c.pausesMs.stream()).sorted().toList();
  }

  /** From losing the connection to the next welcome. */
  List<Long> reconnectsMs() {
    return clients.stream().flatMap(c -> c.reconnectsMs.stream()).sorted().toList();
  }

  static long percentile(List<Long> sorted, double p) {
    if (sorted.isEmpty()) {
      return -1;
    }
    int index = (int) Math.ceil(p / 100.0 * sorted.size()) - 1;
    return sorted.get(Math.max(0, Math.min(sorted.size() - 1, index)));
  }

  @Override
  public void close() {
    sending = false;
    senders.shutdownNow();
    clients.stream().filter(c -> c.client != null).forEach(c -> c.client.close());
  }
}
