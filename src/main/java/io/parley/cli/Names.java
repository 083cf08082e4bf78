package io.parley.cli;

import java.util.List;
import java.util.stream.Collectors;

/** Shows people by handle where this device knows it, else by a shortened account id. */
final class Names {
  private final HandleBook book;

  Names(HandleBook book) {
    this.book = book;
  }

  String of(String accountId) {
    return book.handleOf(accountId).orElseGet(() -> shortId(accountId));
  }

  /** The members other than {@code me}, by name, comma-separated; "just you" when there are none. */
  String others(List<String> members, String me) {
    String names = members.stream().filter(member -> !member.equals(me)).map(this::of).sorted()
        .collect(Collectors.joining(", "));
    return names.isEmpty() ? "just you" : names;
  }

  static String shortId(String accountId) {
    return accountId.length() <= 10 ? accountId : accountId.substring(0, 8) + "…";
  }
}
