package io.parley.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.junit.jupiter.api.Test;

class ChatInputTest {

  @Test
  void plainTextIsSaid() {
    assertThat(ChatInput.parse("hello there")).isEqualTo(new ChatInput.Say("hello there"));
    assertThat(ChatInput.parse("  leading blanks stay")).isEqualTo(new ChatInput.Say("  leading blanks stay"));
  }

  @Test
  void doubleSlashSendsTextStartingWithSlash() {
    assertThat(ChatInput.parse("//list is a command")).isEqualTo(new ChatInput.Say("/list is a command"));
  }

  @Test
  void agentsAreListedAndOpenedByIdOrNumber() {
    assertThat(ChatInput.parse("/agents")).isEqualTo(new ChatInput.ListAgents());
    assertThat(ChatInput.parse("/agent echo")).isEqualTo(new ChatInput.TalkTo("echo"));
    assertThat(ChatInput.parse("/agent 2")).isEqualTo(new ChatInput.TalkTo("2"));
    assertThat(ChatInput.parse("/agent")).isInstanceOf(ChatInput.Invalid.class);
    assertThat(ChatInput.parse("/agent echo assistant")).isInstanceOf(ChatInput.Invalid.class);
    assertThat(ChatInput.parse("/agents now")).isInstanceOf(ChatInput.Invalid.class);
  }

  @Test
  void blankLinesAreIgnored() {
    assertThat(ChatInput.parse("")).isEqualTo(new ChatInput.Blank());
    assertThat(ChatInput.parse("   ")).isEqualTo(new ChatInput.Blank());
  }

  @Test
  void newTakesHandlesSeparatedByCommasOrBlanks() {
    assertThat(ChatInput.parse("/new bob")).isEqualTo(new ChatInput.NewConversation(List.of("bob")));
    assertThat(ChatInput.parse("/new bob,carol, dave  bob"))
        .isEqualTo(new ChatInput.NewConversation(List.of("bob", "carol", "dave")));
    assertThat(ChatInput.parse("/new")).isInstanceOf(ChatInput.Invalid.class);
    assertThat(ChatInput.parse("/new ,")).isInstanceOf(ChatInput.Invalid.class);
  }

  @Test
  void commandsAndTheirShortForms() {
    assertThat(ChatInput.parse("/list")).isEqualTo(new ChatInput.ListConversations());
    assertThat(ChatInput.parse("/L")).isEqualTo(new ChatInput.ListConversations());
    assertThat(ChatInput.parse("/open 2")).isEqualTo(new ChatInput.Open("2"));
    assertThat(ChatInput.parse("/o c-4f1d")).isEqualTo(new ChatInput.Open("c-4f1d"));
    assertThat(ChatInput.parse("/add carol ")).isEqualTo(new ChatInput.Add("carol"));
    assertThat(ChatInput.parse("/trust bob")).isEqualTo(new ChatInput.Trust("bob"));
    assertThat(ChatInput.parse("/leave")).isEqualTo(new ChatInput.Leave());
    assertThat(ChatInput.parse("/help")).isEqualTo(new ChatInput.Help());
    assertThat(ChatInput.parse("/?")).isEqualTo(new ChatInput.Help());
    assertThat(ChatInput.parse("/quit")).isEqualTo(new ChatInput.Quit());
    assertThat(ChatInput.parse("/exit")).isEqualTo(new ChatInput.Quit());
  }

  @Test
  void wrongArgumentsSayWhatIsExpected() {
    assertThat(ChatInput.parse("/open")).isEqualTo(new ChatInput.Invalid("usage: /open <number from /list | conversation id>"));
    assertThat(ChatInput.parse("/open 1 2")).isInstanceOf(ChatInput.Invalid.class);
    assertThat(ChatInput.parse("/add")).isEqualTo(new ChatInput.Invalid("usage: /add <handle>"));
    assertThat(ChatInput.parse("/list all")).isEqualTo(new ChatInput.Invalid("/list takes no argument"));
    assertThat(ChatInput.parse("/leave now")).isEqualTo(new ChatInput.Invalid("/leave takes no argument"));
  }

  @Test
  void unknownCommandsAreNotSentAsText() {
    ChatInput input = ChatInput.parse("/shrug");
    assertThat(input).isInstanceOf(ChatInput.Invalid.class);
    assertThat(((ChatInput.Invalid) input).problem()).contains("unknown command /shrug").contains("//text");
  }

  @Test
  void helpListsEveryCommand() {
    assertThat(ChatInput.HELP).contains("/list", "/new", "/open", "/add", "/leave", "/trust", "/help", "/quit");
  }
}
