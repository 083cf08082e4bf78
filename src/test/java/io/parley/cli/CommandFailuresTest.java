package io.parley.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.parley.Main;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** Failures a command reports before it talks to a node: one line on stderr and the documented exit code. */
class CommandFailuresTest {
  private static final String KEY = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";

  @TempDir Path store;

  private record Run(int status, String out, String err) {}

  private static Run run(Object command, String... args) {
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    CommandLine commandLine = new CommandLine(command);
    commandLine.setOut(new PrintWriter(out, true));
    commandLine.setErr(new PrintWriter(err, true));
    int status = commandLine.execute(args);
    return new Run(status, out.toString(), err.toString());
  }

  private static CliEnvironment environment(Map<String, String> variables, String stdin) {
    return new CliEnvironment(variables, new ByteArrayInputStream(stdin.getBytes(StandardCharsets.UTF_8)),
        question -> Optional.empty());
  }

  private static int closedPort() throws IOException {
    try (ServerSocket socket = new ServerSocket(0)) {
      return socket.getLocalPort();
    }
  }

  @Test
  void missingOptionsAreUsageErrors() {
    Run noHandle = run(new SendCommand(environment(Map.of(), "")), "--to", "bob", "hi");
    assertThat(noHandle.status()).isEqualTo(ExitCode.USAGE);
    assertThat(noHandle.err()).contains("--handle");

    Run noTarget = run(new SendCommand(environment(Map.of(), "")), "--handle", "alice", "hi");
    assertThat(noTarget.status()).isEqualTo(ExitCode.USAGE);
    assertThat(noTarget.err()).contains("--to").contains("--conversation");

    Run both = run(new SendCommand(environment(Map.of(), "")), "--handle", "alice", "--to", "bob",
        "--conversation", "c-12345678", "hi");
    assertThat(both.status()).isEqualTo(ExitCode.USAGE);
  }

  @Test
  void anEmptyMessageIsNotSent() {
    Run run = run(new SendCommand(environment(Map.of("PARLEY_STORE_KEY", KEY), "")), "--handle", "alice",
        "--store", store.toString(), "--to", "bob", "-");
    assertThat(run.status()).isEqualTo(ExitCode.USAGE);
    assertThat(run.err()).isEqualTo("parley send: nothing to send: the message is empty" + System.lineSeparator());
  }

  @Test
  void aStoreKeyThatIsNot32BytesIsRefused() {
    Run run = run(new SendCommand(environment(Map.of("PARLEY_STORE_KEY", "c2hvcnQ="), "hi")), "--handle", "alice",
        "--store", store.toString(), "--to", "bob", "-");
    assertThat(run.status()).isEqualTo(ExitCode.USAGE);
    assertThat(run.err()).contains("PARLEY_STORE_KEY must be 32 bytes in base64");
  }

  @Test
  void withoutKeyOrTerminalTheCommandSaysHowToProvideOne() {
    Run run = run(new TailCommand(environment(Map.of(), "")), "--handle", "bob", "--store", store.toString());
    assertThat(run.status()).isEqualTo(ExitCode.USAGE);
    assertThat(run.err()).contains("set PARLEY_STORE_KEY or use --passphrase-env");

    Run unset = run(new TailCommand(environment(Map.of(), "")), "--handle", "bob", "--store", store.toString(),
        "--passphrase-env", "BOB_PASSPHRASE");
    assertThat(unset.status()).isEqualTo(ExitCode.USAGE);
    assertThat(unset.err()).contains("BOB_PASSPHRASE: that environment variable is not set");
  }

  @Test
  void anUnreachableServerIsALoginFailure() throws IOException {
    Run run = run(new SendCommand(environment(Map.of("PARLEY_STORE_KEY", KEY), "")), "--server",
        "http://127.0.0.1:" + closedPort(), "--handle", "alice", "--store", store.toString(), "--to", "bob", "hi");
    assertThat(run.status()).isEqualTo(ExitCode.LOGIN);
    assertThat(run.err()).startsWith("parley send: logging in at http://127.0.0.1:").contains("cannot reach the server");
  }

  @Test
  void anUnreadableTokenFileIsALoginFailure() {
    Run run = run(new SendCommand(environment(Map.of("PARLEY_STORE_KEY", KEY), "")), "--handle", "alice",
        "--store", store.toString(), "--token-file", store.resolve("missing-token").toString(), "--to", "bob", "hi");
    assertThat(run.status()).isEqualTo(ExitCode.LOGIN);
    assertThat(run.err()).contains("cannot read the token file");
  }

  @Test
  void theClientCommandsAreSubcommandsOfParley() {
    CommandLine parley = new CommandLine(new Main());
    assertThat(parley.getSubcommands()).containsKeys("chat", "send", "tail");
    StringWriter help = new StringWriter();
    parley.getSubcommands().get("send").usage(new PrintWriter(help));
    assertThat(help.toString()).contains("Exit status:", "  5  timed out");
  }
}
