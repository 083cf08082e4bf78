package io.parley.cli;

import io.parley.client.ConnectionState;
import io.parley.client.DecryptedMessage;
import io.parley.client.Listener;
import io.parley.client.ParleyClientException;
import java.io.PrintWriter;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code parley tail}: prints incoming messages as they arrive until interrupted. */
@Command(name = "tail", mixinStandardHelpOptions = true, sortOptions = false,
    description = {"Print incoming messages as they arrive, one line each, until interrupted (Ctrl-C).",
        "Messages are marked delivered once printed. Problems (undecryptable messages, lost",
        "connections) go to standard error."},
    footer = {"", "Line format: CONVERSATION #SEQ FROM: TEXT (line breaks in TEXT written as \\n);",
        "with --json one object per line: conversationId, seq, from, fromHandle, fromDevice, text, sentAt, storedAt.",
        ExitCode.HELP})
public final class TailCommand implements Callable<Integer> {
  private final CliEnvironment environment;

  @Spec CommandSpec spec;

  @Mixin ClientOptions client = new ClientOptions();

  @Option(names = "--conversation", paramLabel = "ID", description = "only this conversation")
  String conversation;

  @Option(names = "--json", description = "one JSON object per line")
  boolean json;

  public TailCommand() {
    this(CliEnvironment.system());
  }

  TailCommand(CliEnvironment environment) {
    this.environment = environment;
  }

  @Override
  public Integer call() {
    PrintWriter out = spec.commandLine().getOut();
    PrintWriter err = spec.commandLine().getErr();
    CompletableFuture<Integer> stopped = new CompletableFuture<>();
    AtomicReference<ParleyClientException> lastError = new AtomicReference<>();
    try {
      Connection.Unlocked unlocked = Connection.unlock(client, environment);
      Names names = new Names(unlocked.book());
      Listener listener = new Listener() {
        @Override
        public void onMessage(DecryptedMessage message) {
          if (conversation == null || conversation.equals(message.conversationId())) {
            synchronized (out) {
              out.println(json ? TailLine.json(message, unlocked.book()) : TailLine.plain(message, names));
              out.flush();
            }
          }
        }

        @Override
        public void onError(ParleyClientException error) {
          lastError.set(error);
          if (conversation == null || error.conversationId() == null || conversation.equals(error.conversationId())) {
            synchronized (err) {
              err.println("parley tail: " + error.getMessage());
              err.flush();
            }
          }
        }

        @Override
        public void onConnectionState(ConnectionState state) {
          if (state == ConnectionState.STOPPED) {
            ParleyClientException cause = lastError.get();
            stopped.complete(cause == null ? ExitCode.LOGIN : Failures.explain(cause, "connection").exitCode());
          }
        }
      };
      CountDownLatch closed = new CountDownLatch(1);
      Thread onCtrlC = new Thread(() -> {
        stopped.complete(ExitCode.OK);
        awaitQuietly(closed);
      }, "parley-tail-shutdown");
      Runtime.getRuntime().addShutdownHook(onCtrlC);
      try (Connection connection = Connection.start(unlocked, listener)) {
        synchronized (err) {
          err.println("parley tail: receiving as " + client.handle + " (device " + client.device + ")"
              + (conversation == null ? "" : " in " + conversation) + "; Ctrl-C to stop");
          err.flush();
        }
        int status = stopped.get();
        if (status != ExitCode.OK) {
          err.println("parley tail: the client stopped and will not reconnect");
          err.flush();
        }
        return status;
      } finally {
        closed.countDown();
        removeHook(onCtrlC);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return ExitCode.OK;
    } catch (ExecutionException e) {
      throw new IllegalStateException(e);
    } catch (CliFailure failure) {
      err.println("parley tail: " + failure.getMessage());
      err.flush();
      return failure.exitCode();
    }
  }

  private static void awaitQuietly(CountDownLatch latch) {
    try {
      latch.await(10, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  private static void removeHook(Thread hook) {
    try {
      Runtime.getRuntime().removeShutdownHook(hook);
    } catch (IllegalStateException shuttingDown) {
      // the JVM is already exiting and runs the hook
    }
  }
}
