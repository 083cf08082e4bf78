package io.parley.cli;

import io.parley.client.ParleyClientException;
import java.io.IOException;
import java.net.ConnectException;
import java.net.http.HttpTimeoutException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/** Waits for the SDK's futures and turns their failures into one-line messages with an exit code. */
final class Failures {
  private Failures() {}

  /** The future's value, or a {@link CliFailure} saying what {@code doing} ran into. */
  static <T> T await(CompletableFuture<T> future, long timeoutMillis, String doing) {
    try {
      return future.get(timeoutMillis, TimeUnit.MILLISECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new CliFailure(ExitCode.TIMEOUT, doing + ": interrupted", e);
    } catch (TimeoutException e) {
      throw new CliFailure(ExitCode.TIMEOUT, doing + ": no answer within " + timeoutMillis / 1000 + " s", e);
    } catch (ExecutionException e) {
      throw explain(e.getCause(), doing);
    }
  }

  static Throwable unwrap(Throwable error) {
    Throwable cause = error;
    while ((cause instanceof CompletionException || cause instanceof ExecutionException) && cause.getCause() != null) {
      cause = cause.getCause();
    }
    return cause;
  }

  static CliFailure explain(Throwable error, String doing) {
    Throwable cause = unwrap(error);
    if (cause instanceof CliFailure failure) {
      return failure;
    }
    String prefix = doing + ": ";
    if (cause instanceof ParleyClientException.ServerError server) {
      return new CliFailure(ExitCode.REFUSED, prefix + describe(server), cause);
    }
    if (cause instanceof ParleyClientException.Unauthorized) {
      return new CliFailure(ExitCode.LOGIN, prefix + "the server refused the token: " + cause.getMessage(), cause);
    }
    if (cause instanceof ParleyClientException.SessionReplaced) {
      return new CliFailure(ExitCode.LOGIN, prefix + "another client of this device connected and took over", cause);
    }
    if (cause instanceof ParleyClientException.StoreFailure) {
      return new CliFailure(ExitCode.STORE, prefix + cause.getMessage(), cause);
    }
    if (cause instanceof ParleyClientException.ConnectionLost || cause instanceof ParleyClientException.Closed) {
      return new CliFailure(ExitCode.TIMEOUT, prefix + cause.getMessage(), cause);
    }
    if (cause instanceof ParleyClientException.UntrustedIdentity untrusted) {
      return new CliFailure(ExitCode.REFUSED, prefix + "a device of " + untrusted.user()
          + " has a new identity key; verify it with them before trusting it", cause);
    }
    if (cause instanceof ParleyClientException) {
      return new CliFailure(ExitCode.REFUSED, prefix + cause.getMessage(), cause);
    }
    if (cause instanceof TimeoutException || cause instanceof HttpTimeoutException) {
      return new CliFailure(ExitCode.TIMEOUT, prefix + "no answer in time", cause);
    }
    if (cause instanceof ConnectException) {
      return new CliFailure(ExitCode.LOGIN, prefix + "cannot reach the server (connection refused)", cause);
    }
    if (cause instanceof IOException) {
      return new CliFailure(ExitCode.LOGIN, prefix + "cannot reach the server: " + cause, cause);
    }
    return new CliFailure(ExitCode.REFUSED, prefix + cause, cause);
  }

  private static String describe(ParleyClientException.ServerError error) {
    return switch (error.code()) {
      case "unknown_handle" -> "no account has that handle";
      case "invalid_handle" -> "not a valid handle";
      case "not_participant" -> "you are not a member of that conversation";
      case "unknown_conversation" -> "no such conversation";
      case "conversation_exists" -> "that conversation id is taken";
      default -> error.getMessage();
    };
  }
}
