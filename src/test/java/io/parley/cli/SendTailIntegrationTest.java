package io.parley.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.parley.testing.DevAccounts;
import io.parley.testing.NodeExtension;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.Base64;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/** {@code parley send} and {@code parley tail} against a real node, in-process through picocli. */
class SendTailIntegrationTest {
  @RegisterExtension
  static final NodeExtension parley = new NodeExtension(Map.of("parley.directory.claim-rate", 10_000));

  private static final AtomicInteger USERS = new AtomicInteger();
  private static final Duration WAIT = Duration.ofSeconds(30);

  @TempDir Path stores;
  private String key;
  private String alice;
  private String bob;

  @BeforeEach
  void setUp() {
    byte[] bytes = new byte[32];
    new SecureRandom().nextBytes(bytes);
    key = Base64.getEncoder().encodeToString(bytes);
    int n = USERS.incrementAndGet();
    alice = "alice-" + n;
    bob = "bob-" + n;
  }

  private String server() {
    return "http://127.0.0.1:" + parley.port();
  }

  private CliRunner.Result send(String handle, String stdin, String... args) {
    String[] all = concat(new String[] {"--server", server(), "--handle", handle,
        "--store", stores.resolve(handle + "-send").toString()}, args);
    return CliRunner.run(new SendCommand(CliRunner.environment(key, stdin)), all);
  }

  private CliRunner.Running tail(String handle, String... args) {
    String[] all = concat(new String[] {"--server", server(), "--handle", handle,
        "--store", stores.resolve(handle + "-tail").toString()}, args);
    CliRunner.Running running = CliRunner.start(new TailCommand(CliRunner.environment(key, "")), all);
    await().atMost(WAIT).until(() -> running.err().contains("receiving as " + handle) || running.status().isDone());
    assertThat(running.status()).isNotDone();
    return running;
  }

  private static String[] concat(String[] first, String[] second) {
    String[] all = java.util.Arrays.copyOf(first, first.length + second.length);
    System.arraycopy(second, 0, all, first.length, second.length);
    return all;
  }

  @Test
  void sendPrintsTheSeqAndTailPrintsTheMessage() {
    CliRunner.Running bobTail = tail(bob);

    CliRunner.Result first = send(alice, "", "--to", bob, "hello bob");
    assertThat(first.err()).isEmpty();
    assertThat(first.status()).isEqualTo(ExitCode.OK);
    long seq = Long.parseLong(first.out().strip());
    assertThat(seq).isEqualTo(2);

    String aliceId = DevAccounts.login(parley.port(), alice).accountId();
    await().atMost(WAIT).until(() -> bobTail.out().contains(" #2 " + Names.shortId(aliceId) + ": hello bob"));

    CliRunner.Result second = send(alice, "second line\nand a third\n", "--to", bob, "-");
    assertThat(second.status()).isEqualTo(ExitCode.OK);
    assertThat(second.out().strip()).isEqualTo("3");
    await().atMost(WAIT).until(() -> bobTail.out().contains(" #3 " + Names.shortId(aliceId)
        + ": second line\\nand a third"));

    assertThat(bobTail.stop()).isEqualTo(ExitCode.OK);
    String[] lines = bobTail.out().split("\n");
    assertThat(lines).hasSize(2);
    assertThat(lines[0].split(" ")[0]).isEqualTo(lines[1].split(" ")[0]).startsWith("c-");
  }

  @Test
  void tailJsonFiltersOneConversation() throws Exception {
    CliRunner.Running bobTail = tail(bob);
    assertThat(send(alice, "", "--to", bob, "for the first conversation").status()).isEqualTo(ExitCode.OK);
    await().atMost(WAIT).until(() -> bobTail.out().contains("for the first conversation"));
    String first = bobTail.out().split(" ")[0];
    assertThat(bobTail.stop()).isEqualTo(ExitCode.OK);

    CliRunner.Running filtered = tail(bob, "--json", "--conversation", first);
    String carol = "carol-" + USERS.incrementAndGet();
    CliRunner.Running carolTail = tail(carol);
    assertThat(send(alice, "", "--to", bob + "," + carol, "to the group").status()).isEqualTo(ExitCode.OK);
    await().atMost(WAIT).until(() -> carolTail.out().contains("to the group"));
    assertThat(send(alice, "", "--conversation", first, "only here").status()).isEqualTo(ExitCode.OK);
    await().atMost(WAIT).until(() -> filtered.out().contains("only here"));
    assertThat(filtered.stop()).isEqualTo(ExitCode.OK);
    assertThat(carolTail.stop()).isEqualTo(ExitCode.OK);

    String[] lines = filtered.out().split("\n");
    assertThat(lines).hasSize(1);
    JsonNode json = new ObjectMapper().readTree(lines[0]);
    assertThat(json.get("conversationId").asText()).isEqualTo(first);
    assertThat(json.get("seq").asLong()).isEqualTo(3);
    assertThat(json.get("from").asText()).isEqualTo(DevAccounts.login(parley.port(), alice).accountId());
    assertThat(json.get("text").asText()).isEqualTo("only here");
  }

  @Test
  void refusalsHaveExitCodeOneAndSayWhy() {
    CliRunner.Result unknownHandle = send(alice, "", "--to", "nobody-" + USERS.incrementAndGet(), "hi");
    assertThat(unknownHandle.status()).isEqualTo(ExitCode.REFUSED);
    assertThat(unknownHandle.out()).isEmpty();
    assertThat(unknownHandle.err()).contains("parley send: looking up nobody-").contains("no account has that handle");

    CliRunner.Result unknownConversation = send(alice, "", "--conversation", "c-does-not-exist", "hi");
    assertThat(unknownConversation.status()).isEqualTo(ExitCode.REFUSED);
    assertThat(unknownConversation.err()).startsWith("parley send: sending: ");
  }

  @Test
  void aStoreInUseIsReportedAsAStoreProblem() {
    CliRunner.Running bobTail = tail(bob);
    CliRunner.Result second = CliRunner.run(new TailCommand(CliRunner.environment(key, "")), "--server", server(),
        "--handle", bob, "--store", stores.resolve(bob + "-tail").toString());
    assertThat(second.status()).isEqualTo(ExitCode.STORE);
    assertThat(second.err()).contains("in use by another client");
    assertThat(bobTail.stop()).isEqualTo(ExitCode.OK);
  }
}
