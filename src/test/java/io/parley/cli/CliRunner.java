package io.parley.cli;

import java.io.ByteArrayInputStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import picocli.CommandLine;

/** Runs a client command in-process through picocli, capturing what it prints. */
final class CliRunner {
  static final String STORE_KEY = "PARLEY_STORE_KEY";

  private CliRunner() {}

  record Result(int status, String out, String err) {}

  /** A command running on a thread of its own; {@link #stop()} interrupts it the way Ctrl-C would end it. */
  static final class Running {
    private final Thread thread;
    private final StringWriter out;
    private final StringWriter err;
    private final CompletableFuture<Integer> status;

    private Running(Thread thread, StringWriter out, StringWriter err, CompletableFuture<Integer> status) {
      this.thread = thread;
      this.out = out;
      this.err = err;
      this.status = status;
    }

    String out() {
      return out.toString();
    }

    String err() {
      return err.toString();
    }

    CompletableFuture<Integer> status() {
      return status;
    }

    int stop() {
      thread.interrupt();
      return status.join();
    }
  }

  static CliEnvironment environment(String storeKey, String stdin) {
    return new CliEnvironment(Map.of(STORE_KEY, storeKey),
        new ByteArrayInputStream(stdin.getBytes(StandardCharsets.UTF_8)), question -> Optional.empty());
  }

  static Result run(Object command, String... args) {
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    int status = commandLine(command, out, err).execute(args);
    return new Result(status, out.toString(), err.toString());
  }

  static Running start(Object command, String... args) {
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    CommandLine commandLine = commandLine(command, out, err);
    CompletableFuture<Integer> status = new CompletableFuture<>();
    Thread thread = new Thread(() -> {
      try {
        status.complete(commandLine.execute(args));
      } catch (Throwable e) {
        status.completeExceptionally(e);
      }
    }, "cli-" + commandLine.getCommandName());
    thread.start();
    return new Running(thread, out, err, status);
  }

  private static CommandLine commandLine(Object command, StringWriter out, StringWriter err) {
    CommandLine commandLine = new CommandLine(command);
    commandLine.setOut(new PrintWriter(out, true));
    commandLine.setErr(new PrintWriter(err, true));
    return commandLine;
  }
}
