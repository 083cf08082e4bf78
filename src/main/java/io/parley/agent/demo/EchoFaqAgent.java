package io.parley.agent.demo;

import io.parley.agent.events.ParleyEvents;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The echo/FAQ demo agent: answers a few questions about Parley from a small FAQ and echoes anything else.
 * It shows typing first, then replies; reply ids derive from the message's id, so a repeated delivery
 * produces the same ids and Parley drops the copy.
 */
final class EchoFaqAgent {

  private record Entry(List<String> keywords, String answer) {}

  private static final List<Entry> FAQ = List.of(
      new Entry(List.of("help", "commands", "what can you do"),
          "I am Parley's echo agent. Ask me \"what is Parley?\", \"how does encryption work?\" or \"how do agents "
              + "work?\", or say anything and I will echo it back."),
      new Entry(List.of("encrypt*", "e2e", "end-to-end", "privacy", "private", "secur*"),
          "Every Parley message is end-to-end encrypted with the Signal protocol (PQXDH and the Double Ratchet): "
              + "the server stores and forwards ciphertext only. An agent is a device of its own; Parley's agent "
              + "gateway holds its keys, decrypts your message for the agent and encrypts the agent's reply for "
              + "each of your devices."),
      new Entry(List.of("agent*", "bot*", "cloudevent*"),
          "Agents are HTTP services. Parley sends each message to an agent as a CloudEvent "
              + "(io.parley.message.created) and the agent replies by POSTing CloudEvents back "
              + "(io.parley.reply.message, .partial, .typing), signed with its secret. See docs/agents.md."),
      new Entry(List.of("what is parley", "parley"),
          "Parley is a messaging platform where people chat with each other and with AI agents: end-to-end "
              + "encrypted, ordered, nothing lost or duplicated, on a Pekko cluster."),
      new Entry(List.of("hello", "hi", "hey"),
          "Hello! I am the echo agent. Type \"help\" to see what I know."));

  private final DemoAgents.Identity identity;
  private final ReplySender replies;

  EchoFaqAgent(DemoAgents.Identity identity, ReplySender replies) {
    this.identity = identity;
    this.replies = replies;
  }

  /**
   * The answer of the first FAQ entry one of whose keywords the text contains as words (a keyword ending in
   * '*' as the start of a word: "encrypt*" matches "encryption"), else the text echoed.
   */
  static String answer(String text) {
    String normalised = text.toLowerCase(Locale.ROOT).strip();
    for (Entry entry : FAQ) {
      for (String keyword : entry.keywords()) {
        if (containsWord(normalised, keyword)) {
          return entry.answer();
        }
      }
    }
    return normalised.isEmpty() ? "(nothing to echo)" : "Echo: " + text.strip();
  }

  void handle(DemoReceiver.Incoming message) {
    replies.send(identity, ParleyEvents.REPLY_TYPING, message.eventId() + ":typing", message.conversationId(),
        Map.of("active", true));
    replies.send(identity, ParleyEvents.REPLY_MESSAGE, message.eventId() + ":reply", message.conversationId(),
        Map.of("text", answer(message.text())));
  }

  private static boolean containsWord(String text, String keyword) {
    boolean stem = keyword.endsWith("*");
    String word = stem ? keyword.substring(0, keyword.length() - 1) : keyword;
    for (int at = text.indexOf(word); at >= 0; at = text.indexOf(word, at + 1)) {
      int end = at + word.length();
      boolean startsWord = at == 0 || !Character.isLetterOrDigit(text.charAt(at - 1));
      boolean endsWord = stem || end == text.length() || !Character.isLetterOrDigit(text.charAt(end));
      if (startsWord && endsWord) {
        return true;
      }
    }
    return false;
  }
}
