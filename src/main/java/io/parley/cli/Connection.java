package io.parley.cli;

import io.parley.client.DevAccount;
import io.parley.client.Listener;
import io.parley.client.ParleyClient;
import io.parley.client.ParleyClientException;
import io.parley.client.StoreKey;
import io.parley.client.TokenSupplier;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.stream.Stream;

/**
 * A started {@link ParleyClient} with its handle book: logs in (token file, {@code $PARLEY_TOKEN}, or a
 * development login), unlocks the device store, connects, and remembers the user's own handle.
 */
final class Connection implements AutoCloseable {
  /** The conversations {@link #conversationWith} looks through for an existing one before creating one. */
  private static final int MAX_CONVERSATIONS_SCANNED = 200;

  private final ParleyClient client;
  private final HandleBook book;
  private final String handle;
  private final long timeoutMillis;

  private Connection(ParleyClient client, HandleBook book, String handle, long timeoutMillis) {
    this.client = client;
    this.book = book;
    this.handle = handle;
    this.timeoutMillis = timeoutMillis;
  }

  /** The first step: what {@link #start} needs, before the listener is built (it needs the book). */
  record Unlocked(ClientOptions options, StoreKey storeKey, HandleBook book, TokenSupplier tokens) {}

  /** Logs in and unlocks the store; nothing is connected yet. */
  static Unlocked unlock(ClientOptions options, CliEnvironment environment) {
    if (options.handle.isBlank()) {
      throw new CliFailure(ExitCode.USAGE, "--handle must not be empty");
    }
    if (options.device < 1 || options.device > 127) {
      throw new CliFailure(ExitCode.USAGE, "--device is 1-127, got " + options.device);
    }
    Path store = options.storeDirectory();
    StoreKey storeKey = storeKey(options, environment, store);
    HandleBook book = HandleBook.open(store, storeKey);
    TokenSupplier tokens = tokens(options, environment, book);
    return new Unlocked(options, storeKey, book, tokens);
  }

  /** Builds and starts the client; waits for the server's welcome. */
  static Connection start(Unlocked unlocked, Listener listener) {
    ClientOptions options = unlocked.options();
    ParleyClient client = ParleyClient.builder()
        .server(options.server)
        .tokens(unlocked.tokens())
        .device(options.device)
        .store(options.storeDirectory(), unlocked.storeKey())
        .listener(listener)
        .requestTimeout(java.time.Duration.ofMillis(options.timeoutMillis()))
        .build();
    try {
      Failures.await(client.start(), options.timeoutMillis(), "connecting to " + options.server);
    } catch (RuntimeException e) {
      client.close();
      throw e;
    }
    Connection connection = new Connection(client, unlocked.book(), options.handle, options.timeoutMillis());
    unlocked.book().rememberHandle(options.handle, client.accountId());
    return connection;
  }

  ParleyClient client() {
    return client;
  }

  HandleBook book() {
    return book;
  }

  String handle() {
    return handle;
  }

  String accountId() {
    return client.accountId();
  }

  long timeoutMillis() {
    return timeoutMillis;
  }

  <T> T await(CompletableFuture<T> future, String doing) {
    return Failures.await(future, timeoutMillis, doing);
  }

  /** The account id of {@code handle}: from the handle book, else asked of the server and remembered. */
  String lookup(String otherHandle) {
    Optional<String> known = book.accountOf(otherHandle);
    if (known.isPresent()) {
      return known.get();
    }
    String accountId = await(client.lookup(otherHandle), "looking up " + otherHandle);
    book.rememberHandle(otherHandle, accountId);
    return accountId;
  }

  /** Creates a conversation with this user and {@code others} under a random id; returns its id. */
  String create(Collection<String> others) {
    String conversationId = "c-" + UUID.randomUUID();
    await(client.createConversation(conversationId, others), "creating a conversation");
    List<String> members = new ArrayList<>(others);
    members.add(accountId());
    book.rememberMembers(conversationId, members);
    return conversationId;
  }

  /**
   * A conversation whose members are exactly this user and {@code others}: one the handle book knows, else
   * one found among the user's conversations on the server, else a new one.
   */
  String conversationWith(Collection<String> others) {
    Set<String> members = new HashSet<>(others);
    members.add(accountId());
    Optional<String> known = book.conversationWith(members);
    if (known.isPresent()) {
      return known.get();
    }
    var conversations = await(client.listConversations(), "listing conversations");
    for (var summary : conversations.stream().limit(MAX_CONVERSATIONS_SCANNED).toList()) {
      if (book.members(summary.conversationId()).isPresent()) {
        continue;
      }
      List<String> current = await(client.receipts(summary.conversationId()), "reading members")
          .stream().map(markers -> markers.user()).toList();
      book.rememberMembers(summary.conversationId(), current);
      if (new HashSet<>(current).equals(members)) {
        return summary.conversationId();
      }
    }
    return create(others);
  }

  @Override
  public void close() {
    client.close();
  }

  private static StoreKey storeKey(ClientOptions options, CliEnvironment environment, Path store) {
    Optional<String> raw = environment.variable(ClientOptions.STORE_KEY_VARIABLE);
    if (raw.isPresent()) {
      try {
        return StoreKey.base64(raw.get());
      } catch (IllegalArgumentException e) {
        throw new CliFailure(ExitCode.USAGE, ClientOptions.STORE_KEY_VARIABLE
            + " must be 32 bytes in base64 (e.g. from: head -c 32 /dev/urandom | base64)", e);
      }
    }
    if (options.passphraseEnv != null) {
      String passphrase = environment.variable(options.passphraseEnv).orElseThrow(() -> new CliFailure(
          ExitCode.USAGE, "--passphrase-env " + options.passphraseEnv + ": that environment variable is not set"));
      return StoreKey.passphrase(passphrase.toCharArray());
    }
    boolean fresh = isNewStore(store);
    char[] first = environment.prompt().ask(fresh
            ? "New device store " + store + "; choose a passphrase: "
            : "Passphrase for " + store + ": ")
        .orElseThrow(() -> new CliFailure(ExitCode.USAGE, "no terminal to ask for the store passphrase: set "
            + ClientOptions.STORE_KEY_VARIABLE + " or use --passphrase-env"));
    if (first.length == 0) {
      throw new CliFailure(ExitCode.USAGE, "an empty passphrase does not protect the store");
    }
    if (fresh) {
      char[] again = environment.prompt().ask("Repeat the passphrase: ").orElse(new char[0]);
      boolean same = Arrays.equals(first, again);
      Arrays.fill(again, '\0');
      if (!same) {
        Arrays.fill(first, '\0');
        throw new CliFailure(ExitCode.USAGE, "the passphrases differ");
      }
    }
    StoreKey key = StoreKey.passphrase(first);
    Arrays.fill(first, '\0');
    return key;
  }

  private static boolean isNewStore(Path store) {
    if (!Files.isDirectory(store)) {
      return true;
    }
    try (Stream<Path> files = Files.list(store)) {
      return files.findAny().isEmpty();
    } catch (IOException e) {
      return false;
    }
  }

  private static TokenSupplier tokens(ClientOptions options, CliEnvironment environment, HandleBook book) {
    if (options.tokenFile != null) {
      Path file = options.tokenFile;
      readToken(file);
      return refresh -> CompletableFuture.supplyAsync(() -> readToken(file));
    }
    Optional<String> token = environment.variable(ClientOptions.TOKEN_VARIABLE);
    if (token.isPresent()) {
      return TokenSupplier.fixed(token.get().trim());
    }
    DevAccount account = devLogin(options);
    book.rememberHandle(options.handle, account.accountId());
    String first = account.token();
    return refresh -> refresh
        ? ParleyClient.devLogin(options.server, options.handle).thenApply(DevAccount::token)
        : CompletableFuture.completedFuture(first);
  }

  private static DevAccount devLogin(ClientOptions options) {
    try {
      return Failures.await(ParleyClient.devLogin(options.server, options.handle), options.timeoutMillis(),
          "logging in at " + options.server);
    } catch (CliFailure failure) {
      if (Failures.unwrap(failure.getCause()) instanceof ParleyClientException.ServerError error) {
        throw new CliFailure(ExitCode.LOGIN, "logging in at " + options.server + ": no development login there ("
            + error.code() + "); on a production node pass --token-file or set " + ClientOptions.TOKEN_VARIABLE, error);
      }
      throw failure.exitCode() == ExitCode.REFUSED
          ? new CliFailure(ExitCode.LOGIN, failure.getMessage(), failure.getCause()) : failure;
    }
  }

  private static String readToken(Path file) {
    try {
      String token = Files.readString(file, StandardCharsets.UTF_8).trim();
      if (token.isEmpty()) {
        throw new CliFailure(ExitCode.LOGIN, "the token file " + file + " is empty");
      }
      return token;
    } catch (IOException e) {
      throw new CliFailure(ExitCode.LOGIN, "cannot read the token file " + file + ": " + e.getMessage(), e);
    }
  }
}
