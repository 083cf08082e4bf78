package io.parley.cli;

/** Exit statuses of {@code parley send}, {@code tail} and {@code chat}; listed in each command's help. */
final class ExitCode {
  /** Done: the message is stored (send), or the user stopped the command (tail, chat). */
  static final int OK = 0;
  /** The server refused the request: unknown handle, not a participant, message not accepted. */
  static final int REFUSED = 1;
  /** Wrong or missing options or arguments. */
  static final int USAGE = 2;
  /** No login or no connection: server unreachable, no development logins there, token refused. */
  static final int LOGIN = 3;
  /** The device store could not be opened: wrong key or passphrase, in use by another client, damaged. */
  static final int STORE = 4;
  /** No answer in time; an unacknowledged send stays in the device store and goes out on the next start. */
  static final int TIMEOUT = 5;

  /** The help footer that lists these (picocli expands {@code %n}). */
  static final String HELP = "%nExit status:"
      + "%n  0  done (send: the message is stored; tail, chat: stopped by the user)"
      + "%n  1  the server refused: unknown handle, not a participant, message not accepted"
      + "%n  2  wrong options or arguments"
      + "%n  3  no login or connection: server unreachable, no dev logins there, token refused"
      + "%n  4  the device store could not be opened: wrong key or passphrase, in use, damaged"
      + "%n  5  timed out; an unacknowledged send stays in the store and goes out on the next start";

  private ExitCode() {}
}
