package io.parley.bench;

import java.util.Locale;
import java.util.Optional;

/**
 * The texts of the agent bench: what user {@code u} sends as its message {@code n}, and what a message from
 * the agent's device is. The echo agent answers {@code "Echo: <text>"}; through the front door the answer is
 * prefixed with the chosen agent's name ({@code "[Echo] Echo: <text>"}), and the first message of a
 * conversation (or any change of agent) also brings a handoff notice ({@code "↪ Echo is taking over …"}).
 * A reply names its message by the sent text, so the texts must be unique within a run and must not look
 * like a question the echo agent's FAQ answers (no "help", "hi", "parley", …): "bench 7 123" does neither.
 */
final class AgentReplies {
  static final String ECHO_PREFIX = "Echo: ";
  static final String HANDOFF_PREFIX = "↪ ";
  private static final String TEXT_PREFIX = "bench ";

  /** What a text from the agent's device is. */
  sealed interface Reply {}

  /** An echo of the message whose text is {@code sent}; {@code via} is the front door's agent name, or empty. */
  record Echo(String sent, Optional<String> via) implements Reply {}

  /** The front door telling the user that another agent takes over. */
  record Handoff(String text) implements Reply {}

  /** Anything else: a FAQ answer, an outage notice, another agent's answer. */
  record Other(String text) implements Reply {}

  private AgentReplies() {}

  /** The text of message {@code n} (from 0) of user {@code user}: unique per run. */
  static String text(int user, long n) {
    return TEXT_PREFIX + user + " " + n;
  }

  /** The reply the echo agent gives to {@code sent}, directly or through a front door naming it {@code via}. */
  static String expected(String sent, Optional<String> via) {
    return via.map(name -> "[" + name + "] ").orElse("") + ECHO_PREFIX + sent;
  }

  static Reply classify(String text) {
    if (text.startsWith(HANDOFF_PREFIX)) {
      return new Handoff(text);
    }
    Optional<String> via = Optional.empty();
    String rest = text;
    if (rest.startsWith("[")) {
      int close = rest.indexOf("] ");
      if (close < 0) {
        return new Other(text);
      }
      via = Optional.of(rest.substring(1, close));
      rest = rest.substring(close + 2);
    }
    if (!rest.startsWith(ECHO_PREFIX)) {
      return new Other(text);
    }
    String sent = rest.substring(ECHO_PREFIX.length());
    return isBenchText(sent) ? new Echo(sent, via) : new Other(text);
  }

  /** "bench &lt;user&gt; &lt;n&gt;" with two non-negative numbers. */
  static boolean isBenchText(String text) {
    if (!text.startsWith(TEXT_PREFIX)) {
      return false;
    }
    String[] parts = text.substring(TEXT_PREFIX.length()).split(" ", -1);
    return parts.length == 2 && isNumber(parts[0]) && isNumber(parts[1]);
  }

  private static boolean isNumber(String part) {
    return !part.isEmpty() && part.length() <= 18 && part.chars().allMatch(c -> c >= '0' && c <= '9');
  }

  /** A short label for a text that was not an echo, without the message content: for the summary. */
  static String kind(Reply reply) {
    if (reply instanceof Echo) {
      return "echo";
    }
    if (reply instanceof Handoff) {
      return "handoff";
    }
    String text = ((Other) reply).text().toLowerCase(Locale.ROOT);
    return text.contains("not reachable") ? "agent-unreachable"
        : text.contains("not available") || text.contains("no assistant") ? "agent-unavailable" : "other";
  }
}
