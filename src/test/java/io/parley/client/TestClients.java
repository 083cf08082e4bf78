package io.parley.client;

import static org.awaitility.Awaitility.await;

import io.parley.testing.DevAccounts;
import io.parley.testing.NodeExtension;
import java.io.IOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Predicate;
import java.util.stream.Stream;
import org.junit.jupiter.api.extension.AfterEachCallback;
import org.junit.jupiter.api.extension.BeforeEachCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/** Real {@link ParleyClient}s against a test node, each recording what its listener hears. */
final class TestClients implements BeforeEachCallback, AfterEachCallback, AutoCloseable {
  static final Duration WAIT = Duration.ofSeconds(30);

  /** One client and everything its listener was told, in order. */
  static final class Device implements Listener {
    final DevAccounts.Account account;
    final int device;
    final Path store;
    final StoreKey key;
    int oneTimePreKeys = 100;
    final List<DecryptedMessage> messages = new CopyOnWriteArrayList<>();
    final List<MemberEvent> members = new CopyOnWriteArrayList<>();
    final List<Receipt> receipts = new CopyOnWriteArrayList<>();
    final List<TypingEvent> typing = new CopyOnWriteArrayList<>();
    final List<EphemeralMessage> ephemerals = new CopyOnWriteArrayList<>();
    final List<PresenceEvent> presence = new CopyOnWriteArrayList<>();
    final List<SentMessage> sent = new CopyOnWriteArrayList<>();
    final List<ParleyClientException> errors = new CopyOnWriteArrayList<>();
    final List<ConnectionState> states = new CopyOnWriteArrayList<>();
    ParleyClient client;

    Device(DevAccounts.Account account, int device, Path store, StoreKey key) {
      this.account = account;
      this.device = device;
      this.store = store;
      this.key = key;
    }

    String id() {
      return account.accountId();
    }

    List<String> texts(String conversationId) {
      return messages.stream().filter(m -> m.conversationId().equals(conversationId)).map(DecryptedMessage::text)
          .toList();
    }

    void awaitTexts(String conversationId, int count) {
      await().atMost(WAIT).until(() -> texts(conversationId).size() >= count);
    }

    <T extends ParleyClientException> T awaitError(Class<T> type, Predicate<T> test) {
      await().atMost(WAIT).untilAsserted(() -> org.assertj.core.api.Assertions.assertThat(errors)
          .as("errors of %s", account.handle())
          .anyMatch(e -> type.isInstance(e) && test.test(type.cast(e))));
      return errors.stream().filter(type::isInstance).map(type::cast).filter(test).findFirst().orElseThrow();
    }

    <T extends ParleyClientException> List<T> awaitErrors(Class<T> type, int count) {
      await().atMost(WAIT).until(() -> errors.stream().filter(type::isInstance).count() >= count);
      return errors.stream().filter(type::isInstance).map(type::cast).toList();
    }

    @Override public void onMessage(DecryptedMessage message) { messages.add(message); }
    @Override public void onMember(MemberEvent member) { members.add(member); }
    @Override public void onReceipt(Receipt receipt) { receipts.add(receipt); }
    @Override public void onTyping(TypingEvent event) { typing.add(event); }
    @Override public void onEphemeral(EphemeralMessage message) { ephemerals.add(message); }
    @Override public void onPresence(PresenceEvent event) { presence.add(event); }
    @Override public void onSent(SentMessage message) { sent.add(message); }
    @Override public void onError(ParleyClientException error) { errors.add(error); }
    @Override public void onConnectionState(ConnectionState state) { states.add(state); }
  }

  private final NodeExtension node;
  private int port;
  private Path root;
  private final List<Device> devices = new ArrayList<>();

  TestClients(int port, Path root) {
    this.node = null;
    this.port = port;
    this.root = root;
  }

  private TestClients(NodeExtension node) {
    this.node = node;
  }

  /**
   * Clients for each test of a class, against the class's node, their device stores in a fresh temporary
   * directory ({@link #root()}); all closed after the test: {@code @RegisterExtension final TestClients clients =
   * TestClients.perTest(parley);}
   */
  static TestClients perTest(NodeExtension node) {
    return new TestClients(node);
  }

  @Override
  public void beforeEach(ExtensionContext context) throws IOException {
    port = node.port();
    root = Files.createTempDirectory("parley-clients-");
    devices.clear();
  }

  @Override
  public void afterEach(ExtensionContext context) throws IOException {
    close();
    try (Stream<Path> files = Files.walk(root)) {
      for (Path file : files.sorted(Comparator.reverseOrder()).toList()) {
        Files.deleteIfExists(file);
      }
    }
  }

  /** Where the device stores are. */
  Path root() {
    return root;
  }

  static StoreKey randomKey() {
    byte[] key = new byte[32];
    new SecureRandom().nextBytes(key);
    return StoreKey.raw(key);
  }

  DevAccounts.Account account(String handle) {
    return DevAccounts.login(port, handle);
  }

  /** A started client for a new device of {@code account}. */
  Device start(DevAccounts.Account account, int device) {
    Device d = new Device(account, device, root.resolve(account.handle() + "-" + device), randomKey());
    open(d);
    return d;
  }

  /** (Re)builds and starts the client of {@code d} over its existing store. */
  Device open(Device d) {
    return open(d, builder -> builder);
  }

  /** As {@link #open(Device)}, with settings changed by {@code customize}. */
  Device open(Device d, java.util.function.UnaryOperator<ParleyClient.Builder> customize) {
    d.client = customize.apply(builder(d)).build();
    d.client.start().orTimeout(WAIT.toSeconds(), java.util.concurrent.TimeUnit.SECONDS).join();
    devices.add(d);
    return d;
  }

  ParleyClient.Builder builder(Device d) {
    return ParleyClient.builder()
        .server(URI.create("http://127.0.0.1:" + port))
        .tokens(TokenSupplier.fixed(d.account.token()))
        .device(d.device)
        .store(d.store, d.key)
        .reconnectBackoff(Duration.ofMillis(50), Duration.ofSeconds(2))
        .oneTimePreKeys(d.oneTimePreKeys)
        .listener(d);
  }

  @Override
  public void close() {
    devices.forEach(d -> d.client.close());
  }
}
