package io.parley.cli;

import java.io.Console;
import java.io.InputStream;
import java.util.Map;
import java.util.Optional;

/**
 * What a command takes from the process besides its options: environment variables, standard input and a
 * way to ask for a passphrase. Tests pass their own; {@link #system()} is the real process.
 */
record CliEnvironment(Map<String, String> variables, InputStream stdin, PassphrasePrompt prompt) {

  /** Asks the user for a secret; empty when there is nobody to ask (no terminal). */
  @FunctionalInterface
  interface PassphrasePrompt {
    Optional<char[]> ask(String question);
  }

  static CliEnvironment system() {
    return new CliEnvironment(System.getenv(), System.in, question -> {
      Console console = System.console();
      return console == null ? Optional.empty() : Optional.ofNullable(console.readPassword("%s", question));
    });
  }

  Optional<String> variable(String name) {
    String value = variables.get(name);
    return value == null || value.isBlank() ? Optional.empty() : Optional.of(value);
  }

  CliEnvironment withPrompt(PassphrasePrompt other) {
    return new CliEnvironment(variables, stdin, other);
  }
}
