package io.parley.store;

import de.bwaldvogel.mongo.bson.Document;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * How a durable backend treats a MongoDB wire command: answered at once (reads no stored data), answered
 * once what it read is durable (a read), or applied and made durable before it is answered (a write).
 */
enum WireCommands {
  NO_DATA, READ, WRITE;

  private static final Set<String> NO_DATA_COMMANDS = Set.of(
      "hello", "ismaster", "ping", "buildinfo", "whatsmyuri", "serverstatus", "hostinfo",
      "getcmdlineopts", "getlog", "getfreemonitoringstatus", "connectionstatus", "replsetgetstatus",
      "getparameter", "getlasterror", "killcursors", "endsessions", "currentop", "saslstart",
      "saslcontinue", "logout");

  private static final Set<String> READ_COMMANDS = Set.of(
      "find", "getmore", "count", "distinct", "listcollections", "listindexes", "listdatabases",
      "collstats", "dbstats", "explain", "validate");

  /** {@code name}: the command's name in lower case. */
  static WireCommands of(String name, Document query) {
    if (NO_DATA_COMMANDS.contains(name)) {
      return NO_DATA;
    }
    if (READ_COMMANDS.contains(name) || (name.equals("aggregate") && !writesOutput(query))) {
      return READ;
    }
    return WRITE;
  }

  static String name(String command) {
    return command.toLowerCase(Locale.ROOT);
  }

  /** An aggregation with {@code $out} or {@code $merge} writes. */
  private static boolean writesOutput(Document aggregate) {
    if (!(aggregate.get("pipeline") instanceof List<?> stages)) {
      return false;
    }
    return stages.stream().anyMatch(stage -> stage instanceof Document d
        && (d.containsKey("$out") || d.containsKey("$merge")));
  }
}
