package io.parley.cli;

import io.parley.client.Listener;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code parley send}: one message, end-to-end encrypted; prints its seq. */
@Command(name = "send", mixinStandardHelpOptions = true, sortOptions = false,
    description = {"Send one message and print its sequence number once the server has stored it.",
        "With --to, reuses the conversation with exactly those people (or creates one)."},
    footer = {"", "Examples:",
        "  parley send --handle alice --to bob \"lunch at noon?\"",
        "  date | parley send --handle alice --conversation c-4f1d... -", ExitCode.HELP})
public final class SendCommand implements Callable<Integer> {
  private final CliEnvironment environment;

  @Spec CommandSpec spec;

  @Mixin ClientOptions client = new ClientOptions();

  static final class Target {
    @Option(names = "--to", split = ",", paramLabel = "HANDLE",
        description = "the recipient's handle; several, comma-separated, for a group")
    List<String> to;

    @Option(names = "--conversation", paramLabel = "ID", description = "an existing conversation's id")
    String conversation;
  }

  @ArgGroup(exclusive = true, multiplicity = "1") Target target;

  @Parameters(index = "0", paramLabel = "TEXT", description = "the message; - reads it from standard input")
  String text;

  public SendCommand() {
    this(CliEnvironment.system());
  }

  SendCommand(CliEnvironment environment) {
    this.environment = environment;
  }

  @Override
  public Integer call() {
    PrintWriter out = spec.commandLine().getOut();
    PrintWriter err = spec.commandLine().getErr();
    try {
      String message = "-".equals(text) ? readStdin() : text;
      if (message.isEmpty()) {
        throw new CliFailure(ExitCode.USAGE, "nothing to send: the message is empty");
      }
      Connection.Unlocked unlocked = Connection.unlock(client, environment);
      try (Connection connection = Connection.start(unlocked, new Listener() {})) {
        String conversationId = target.conversation != null ? target.conversation
            : connection.conversationWith(target.to.stream().map(String::trim).filter(h -> !h.isEmpty())
                .map(connection::lookup).distinct().toList());
        long seq = connection.await(connection.client().send(conversationId, message), "sending");
        out.println(seq);
        out.flush();
        return ExitCode.OK;
      }
    } catch (CliFailure failure) {
      err.println("parley send: " + failure.getMessage());
      err.flush();
      return failure.exitCode();
    }
  }

  private String readStdin() {
    try {
      String read = new String(environment.stdin().readAllBytes(), StandardCharsets.UTF_8);
      return read.endsWith("\n") ? read.substring(0, read.length() - (read.endsWith("\r\n") ? 2 : 1)) : read;
    } catch (IOException e) {
      throw new CliFailure(ExitCode.USAGE, "cannot read standard input: " + e.getMessage(), e);
    }
  }
}
