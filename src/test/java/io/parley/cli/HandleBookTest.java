package io.parley.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.parley.client.StoreKey;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class HandleBookTest {
  private static final String BOB = "u_BBBBBBBBBBBBBBBBBBBBBB";
  private static final String ME = "u_AAAAAAAAAAAAAAAAAAAAAA";

  @TempDir Path store;

  private static StoreKey key(int fill) {
    byte[] bytes = new byte[32];
    java.util.Arrays.fill(bytes, (byte) fill);
    return StoreKey.raw(bytes);
  }

  @Test
  void remembersHandlesAndMembersAcrossOpens() {
    HandleBook book = HandleBook.open(store, key(1));
    book.rememberHandle("bob", BOB);
    book.rememberMembers("c-1", List.of(BOB, ME, BOB));

    HandleBook again = HandleBook.open(store, key(1));
    assertThat(again.handleOf(BOB)).contains("bob");
    assertThat(again.accountOf("bob")).contains(BOB);
    assertThat(again.members("c-1")).contains(List.of(ME, BOB));
    assertThat(again.conversationWith(Set.of(ME, BOB))).contains("c-1");
    assertThat(again.conversationWith(Set.of(ME))).isEmpty();
  }

  @Test
  void theFileRevealsNoHandleOrAccountId() throws Exception {
    HandleBook book = HandleBook.open(store, key(1));
    book.rememberHandle("bob", BOB);
    String raw = new String(Files.readAllBytes(store.resolve(HandleBook.FILE)), StandardCharsets.ISO_8859_1);
    assertThat(raw).doesNotContain("bob").doesNotContain(BOB).startsWith("PCB1");
  }

  @Test
  void aWrongKeyFailsAsAStoreProblem() {
    HandleBook.open(store, key(1)).rememberHandle("bob", BOB);
    assertThatThrownBy(() -> HandleBook.open(store, key(2)))
        .isInstanceOfSatisfying(CliFailure.class, failure -> assertThat(failure.exitCode()).isEqualTo(ExitCode.STORE))
        .hasMessageContaining("wrong store key or passphrase");
  }

  @Test
  void aPassphraseProtectedBookOpensWithTheSamePassphraseOnly() {
    HandleBook.open(store, StoreKey.passphrase("correct horse".toCharArray(), 10_000)).rememberHandle("bob", BOB);
    assertThat(HandleBook.open(store, StoreKey.passphrase("correct horse".toCharArray(), 10_000)).handleOf(BOB))
        .contains("bob");
    assertThatThrownBy(() -> HandleBook.open(store, StoreKey.passphrase("wrong horse".toCharArray(), 10_000)))
        .isInstanceOf(CliFailure.class);
  }

  @Test
  void aHandleMovesToItsNewAccountAndLeftConversationsAreForgotten() {
    HandleBook book = HandleBook.open(store, key(1));
    book.rememberHandle("bob", "u_old");
    book.rememberHandle("bob", BOB);
    assertThat(book.handleOf("u_old")).isEmpty();
    assertThat(book.accountOf("bob")).contains(BOB);
    book.rememberMembers("c-1", List.of(ME, BOB));
    book.forgetConversation("c-1");
    assertThat(HandleBook.open(store, key(1)).members("c-1")).isEmpty();
  }
}
