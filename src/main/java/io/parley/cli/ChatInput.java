package io.parley.cli;

import java.util.Arrays;
import java.util.List;
import java.util.Locale;

/** One line typed into {@code parley chat}: a command or text for the open conversation. */
sealed interface ChatInput {
  record ListConversations() implements ChatInput {}

  /** {@code /new bob,carol}: a new conversation with these handles. */
  record NewConversation(List<String> handles) implements ChatInput {}

  /** {@code /open 2} or {@code /open c-4f1d…}: a number from {@code /list}, or a conversation id. */
  record Open(String target) implements ChatInput {}

  record Add(String handle) implements ChatInput {}

  /** {@code /trust bob}: accept bob's changed identity key after checking it with bob. */
  record Trust(String handle) implements ChatInput {}

  record Leave() implements ChatInput {}

  /** {@code /agents}: the agents this user can chat with, numbered. */
  record ListAgents() implements ChatInput {}

  /** {@code /agent echo} or {@code /agent 2}: opens the conversation with that agent (starting it if needed). */
  record TalkTo(String agent) implements ChatInput {}

  record Help() implements ChatInput {}

  record Quit() implements ChatInput {}

  /** Text for the open conversation; {@code //x} sends {@code /x}. */
  record Say(String text) implements ChatInput {}

  /** Nothing typed (or only blanks): ignored. */
  record Blank() implements ChatInput {}

  /** A command that cannot be run as typed; {@code problem} says why. */
  record Invalid(String problem) implements ChatInput {}

  static ChatInput parse(String line) {
    if (line == null || line.isBlank()) {
      return new Blank();
    }
    if (line.startsWith("//")) {
      return new Say(line.substring(1));
    }
    if (!line.startsWith("/")) {
      return new Say(line);
    }
    String trimmed = line.strip();
    int space = trimmed.indexOf(' ');
    String command = (space < 0 ? trimmed : trimmed.substring(0, space)).toLowerCase(Locale.ROOT);
    String argument = space < 0 ? "" : trimmed.substring(space + 1).strip();
    return switch (command) {
      case "/list", "/l" -> noArgument(command, argument, new ListConversations());
      case "/new", "/n" -> {
        List<String> handles = Arrays.stream(argument.split("[,\\s]+")).filter(h -> !h.isEmpty()).distinct().toList();
        yield handles.isEmpty() ? new Invalid("usage: /new <handle>[,<handle>…]") : new NewConversation(handles);
      }
      case "/open", "/o" -> argument.isEmpty() || argument.contains(" ")
          ? new Invalid("usage: /open <number from /list | conversation id>") : new Open(argument);
      case "/add", "/a" -> argument.isEmpty() || argument.contains(" ")
          ? new Invalid("usage: /add <handle>") : new Add(argument);
      case "/trust" -> argument.isEmpty() || argument.contains(" ")
          ? new Invalid("usage: /trust <handle>") : new Trust(argument);
      case "/leave" -> noArgument(command, argument, new Leave());
      case "/agents" -> noArgument(command, argument, new ListAgents());
      case "/agent" -> argument.isEmpty() || argument.contains(" ")
          ? new Invalid("usage: /agent <id | number from /agents>") : new TalkTo(argument);
      case "/help", "/h", "/?" -> new Help();
      case "/quit", "/q", "/exit" -> new Quit();
      default -> new Invalid("unknown command " + command + " (/help lists them; //text sends text starting with /)");
    };
  }

  private static ChatInput noArgument(String command, String argument, ChatInput input) {
    return argument.isEmpty() ? input : new Invalid(command + " takes no argument");
  }

  String HELP = String.join("\n",
      "/list                      your conversations, numbered",
      "/new <handle>[,<handle>…]  start a conversation and open it",
      "/open <n|id>               open a conversation from /list (by number or id)",
      "/add <handle>              add someone to the open conversation",
      "/leave                     leave the open conversation",
      "/trust <handle>            accept a changed identity key (check it with them first)",
      "/agents                    the agents you can chat with, numbered",
      "/agent <id|n>              chat with an agent (the front door picks one for you)",
      "/help                      this list",
      "/quit                      leave the chat (Ctrl-D too)",
      "anything else              sent to the open conversation (//text sends /text)");
}
