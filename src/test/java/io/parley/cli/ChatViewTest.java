package io.parley.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.parley.client.MemberEvent;
import io.parley.client.StoreKey;
import java.nio.file.Path;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ChatViewTest {
  private static final String ALICE = "u_AAAAAAAAAAAAAAAAAAAAAA";
  private static final String BOB = "u_BBBBBBBBBBBBBBBBBBBBBB";
  private static final String CAROL = "u_CCCCCCCCCCCCCCCCCCCCCC";
  private static final Instant AT = Instant.parse("2025-05-01T14:02:59Z");

  @TempDir Path store;
  private ChatView view;

  @BeforeEach
  void setUp() {
    HandleBook book = HandleBook.open(store, StoreKey.raw(new byte[32]));
    book.rememberHandle("alice", ALICE);
    book.rememberHandle("bob", BOB);
    view = new ChatView(new Names(book), ZoneOffset.UTC);
  }

  @Test
  void messageShowsSeqTimeAndHandle() {
    assertThat(view.message(12, AT, BOB, "hi")).isEqualTo("#12 14:02 bob: hi");
  }

  @Test
  void aStreamedReplyShowsTheEndOfItsTextOnOneLine() {
    assertThat(view.partial(BOB, "The answer\nis")).isEqualTo("… bob is writing: The answer is");
    String longer = "x".repeat(100) + " the end";
    assertThat(view.partial(BOB, longer))
        .isEqualTo("… bob is writing: …" + longer.substring(longer.length() - ChatView.PARTIAL_TAIL))
        .endsWith(" the end");
  }

  @Test
  void unknownAccountsAreShownShortened() {
    assertThat(view.message(3, AT, CAROL, "hey")).isEqualTo("#3 14:02 u_CCCCCC…: hey");
  }

  @Test
  void furtherLinesOfAMessageAreIndentedUnderTheFirst() {
    assertThat(view.message(4, AT, BOB, "one\ntwo\r\nthree"))
        .isEqualTo("#4 14:02 bob: one\n              two\n              three");
  }

  @Test
  void receiptsAndTyping() {
    assertThat(view.delivered(BOB, 12)).isEqualTo("✓ delivered to bob up to #12");
    assertThat(view.read(BOB, 12)).isEqualTo("✓✓ read by bob up to #12");
    assertThat(view.typing(BOB)).isEqualTo("… bob is typing");
  }

  @Test
  void membershipChanges() {
    assertThat(view.member(new MemberEvent("c1", 1, MemberEvent.Change.CREATED, ALICE, ALICE,
        List.of(ALICE, BOB, CAROL), AT))).isEqualTo("alice started the conversation with bob, u_CCCCCC…");
    assertThat(view.member(new MemberEvent("c1", 5, MemberEvent.Change.ADDED, CAROL, BOB, List.of(), AT)))
        .isEqualTo("bob added u_CCCCCC…");
    assertThat(view.member(new MemberEvent("c1", 6, MemberEvent.Change.REMOVED, BOB, BOB, List.of(), AT)))
        .isEqualTo("bob left");
    assertThat(view.member(new MemberEvent("c1", 7, MemberEvent.Change.REMOVED, CAROL, ALICE, List.of(), AT)))
        .isEqualTo("alice removed u_CCCCCC…");
  }

  @Test
  void conversationListNumbersRowsAndMarksTheOpenOne() {
    assertThat(ChatView.list(List.of(
        new ChatView.Row(1, "c-1", "bob", false),
        new ChatView.Row(2, "c-2", "bob, carol", true))))
        .isEqualTo("   1  bob  (c-1)\n*  2  bob, carol  (c-2)");
    assertThat(ChatView.list(List.of())).contains("/new <handle>");
  }

  @Test
  void linesOfOtherConversationsAreTagged() {
    assertThat(ChatView.tagged(ChatView.label(2, "bob"), "#5 14:02 bob: hi")).isEqualTo("[2 bob] #5 14:02 bob: hi");
    assertThat(ChatView.tagged(ChatView.label(null, "bob"), "x")).isEqualTo("[bob] x");
    assertThat(ChatView.prompt(null)).isEqualTo("> ");
    assertThat(ChatView.prompt("bob, carol")).isEqualTo("bob, carol> ");
  }

  @Test
  void othersLeaveOutTheUserAndSortByName() {
    Names names = view.names();
    assertThat(names.others(List.of(ALICE, BOB, CAROL), ALICE)).isEqualTo("bob, u_CCCCCC…");
    assertThat(names.others(List.of(ALICE), ALICE)).isEqualTo("just you");
  }
}
