package io.parley.cli;

import io.parley.client.MemberEvent;
import java.time.Instant;
import java.time.ZoneId;
import java.time.format.DateTimeFormatter;
import java.util.List;

/** How {@code parley chat} writes things on the terminal: every line it prints is made here. */
final class ChatView {
  private static final DateTimeFormatter TIME = DateTimeFormatter.ofPattern("HH:mm");

  /** One conversation in {@code /list}: its number, id, the other members' names, whether it is open. */
  record Row(int number, String conversationId, String others, boolean open) {}

  private final Names names;
  private final ZoneId zone;

  ChatView(Names names, ZoneId zone) {
    this.names = names;
    this.zone = zone;
  }

  Names names() {
    return names;
  }

  /** {@code #12 14:02 bob: text}; further lines of the text are indented under the first. */
  String message(long seq, Instant at, String fromUser, String text) {
    String head = "#" + seq + " " + TIME.format(at.atZone(zone)) + " " + names.of(fromUser) + ": ";
    return head + text.replace("\r\n", "\n").replace("\n", "\n" + " ".repeat(head.length()));
  }

  String delivered(String user, long seq) {
    return "✓ delivered to " + names.of(user) + " up to #" + seq;
  }

  String read(String user, long seq) {
    return "✓✓ read by " + names.of(user) + " up to #" + seq;
  }

  String typing(String user) {
    return "… " + names.of(user) + " is typing";
  }

  /** A streamed reply so far: its last {@value #PARTIAL_TAIL} characters on one line. */
  String partial(String user, String text) {
    String line = text.replaceAll("\\s+", " ").strip();
    String tail = line.length() <= PARTIAL_TAIL ? line : "…" + line.substring(line.length() - PARTIAL_TAIL);
    return "… " + names.of(user) + " is writing: " + tail;
  }

  static final int PARTIAL_TAIL = 60;

  String member(MemberEvent event) {
    String by = names.of(event.by());
    return switch (event.change()) {
      case CREATED -> by + " started the conversation with " + names.others(event.participants(), event.by());
      case ADDED -> by + " added " + names.of(event.user());
      case REMOVED -> event.user().equals(event.by()) ? names.of(event.user()) + " left"
          : by + " removed " + names.of(event.user());
    };
  }

  /** {@code [2 bob]} before a line of a conversation that is not the open one. */
  static String tagged(String label, String line) {
    return "[" + label + "] " + line;
  }

  static String label(Integer number, String others) {
    return number == null ? others : number + " " + others;
  }

  static String prompt(String openOthers) {
    return openOthers == null ? "> " : openOthers + "> ";
  }

  static String opened(String others, String conversationId) {
    return "── " + others + " (" + conversationId + ") ──";
  }

  static String list(List<Row> rows) {
    if (rows.isEmpty()) {
      return "no conversations yet: /new <handle> starts one";
    }
    StringBuilder out = new StringBuilder();
    for (Row row : rows) {
      if (!out.isEmpty()) {
        out.append('\n');
      }
      out.append(row.open() ? "* " : "  ").append(String.format("%2d  ", row.number()))
          .append(row.others()).append("  (").append(row.conversationId()).append(')');
    }
    return out.toString();
  }

  static String notice(String text) {
    return "· " + text;
  }

  static String problem(String text) {
    return "! " + text;
  }
}
