package io.parley.cli;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.time.Clock;
import java.time.ZoneId;
import java.util.Optional;
import java.util.concurrent.Callable;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.jline.reader.EndOfFileException;
import org.jline.reader.LineReader;
import org.jline.reader.LineReaderBuilder;
import org.jline.reader.UserInterruptException;
import org.jline.reader.Widget;
import org.jline.terminal.Terminal;
import org.jline.terminal.TerminalBuilder;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;

/** {@code parley chat}: an interactive, end-to-end encrypted chat in the terminal. */
@Command(name = "chat", mixinStandardHelpOptions = true, sortOptions = false,
    description = {"Chat in the terminal. Incoming messages appear above the line you are typing;",
        "your own messages get ✓ when delivered and ✓✓ when read. Type /help for the commands."},
    footer = {"", "Example, in two terminals:",
        "  ./parley chat --handle alice        then: /new bob, and type",
        "  ./parley chat --handle bob          then: /list, /open 1", ExitCode.HELP})
public final class ChatCommand implements Callable<Integer> {
  /** Makes the terminal; the command closes it when done. */
  @FunctionalInterface
  interface TerminalFactory {
    Terminal open() throws IOException;
  }

  private final CliEnvironment environment;
  private final TerminalFactory terminals;
  private final Clock clock;
  private final ZoneId zone;

  @Mixin ClientOptions client = new ClientOptions();

  public ChatCommand() {
    this(CliEnvironment.system(), () -> TerminalBuilder.builder().name("parley").system(true).build(),
        Clock.systemDefaultZone(), ZoneId.systemDefault());
  }

  ChatCommand(CliEnvironment environment, TerminalFactory terminals, Clock clock, ZoneId zone) {
    this.environment = environment;
    this.terminals = terminals;
    this.clock = clock;
    this.zone = zone;
  }

  @Override
  public Integer call() {
    try (Terminal terminal = terminals.open()) {
      LineReader reader = LineReaderBuilder.builder().terminal(terminal).appName("parley").build();
      reader.setOpt(LineReader.Option.ERASE_LINE_ON_FINISH);
      return chat(terminal, reader);
    } catch (IOException e) {
      throw new UncheckedIOException("the terminal could not be opened", e);
    }
  }

  private int chat(Terminal terminal, LineReader reader) {
    CliEnvironment withPrompt = environment.withPrompt(question -> {
      try {
        return Optional.of(reader.readLine(question, '*').toCharArray());
      } catch (UserInterruptException | EndOfFileException e) {
        return Optional.empty();
      }
    });
    ChatController controller;
    Connection connection;
    try {
      Connection.Unlocked unlocked = Connection.unlock(client, withPrompt);
      controller = new ChatController(unlocked.book(), new ChatView(new Names(unlocked.book()), zone),
          reader::printAbove, clock);
      terminal.writer().println(ChatView.notice("connecting to " + client.server + " as " + client.handle + "…"));
      terminal.flush();
      connection = Connection.start(unlocked, controller);
    } catch (CliFailure failure) {
      terminal.writer().println("parley chat: " + failure.getMessage());
      terminal.flush();
      return failure.exitCode();
    }
    ScheduledExecutorService ticker = Executors.newSingleThreadScheduledExecutor(runnable -> {
      Thread thread = new Thread(runnable, "parley-chat-typing");
      thread.setDaemon(true);
      return thread;
    });
    try (connection) {
      controller.attach(connection);
      watchKeystrokes(reader, controller);
      ticker.scheduleWithFixedDelay(controller.typingSignal()::tick, 1, 1, TimeUnit.SECONDS);
      reader.printAbove(ChatView.notice("signed in as " + client.handle + " (device " + client.device
          + "). /help lists the commands."));
      controller.run(new ChatInput.ListConversations());
      while (true) {
        String line;
        try {
          line = reader.readLine(controller.prompt());
        } catch (UserInterruptException e) {
          controller.typingSignal().stopped();
          continue;
        } catch (EndOfFileException e) {
          controller.quit();
          break;
        }
        ChatInput input = ChatInput.parse(line);
        if (!(input instanceof ChatInput.Say) && !(input instanceof ChatInput.Blank)) {
          reader.printAbove(controller.prompt() + line.strip());
        }
        if (!controller.run(input)) {
          break;
        }
      }
      return ExitCode.OK;
    } finally {
      ticker.shutdownNow();
    }
  }

  /** Every typed character (except in a command line) tells the open conversation this user is typing. */
  private static void watchKeystrokes(LineReader reader, ChatController controller) {
    Widget selfInsert = reader.getWidgets().get(LineReader.SELF_INSERT);
    reader.getWidgets().put(LineReader.SELF_INSERT, () -> {
      boolean result = selfInsert.apply();
      if (!reader.getBuffer().toString().startsWith("/")) {
        controller.typingSignal().keystroke(controller.openConversation());
      }
      return result;
    });
  }
}
