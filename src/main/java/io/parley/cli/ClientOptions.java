package io.parley.cli;

import java.net.URI;
import java.nio.file.Path;
import picocli.CommandLine.Option;

/** The options every client command shares: where to connect, as whom, and where the device keeps its keys. */
final class ClientOptions {
  static final String STORE_KEY_VARIABLE = "PARLEY_STORE_KEY";
  static final String TOKEN_VARIABLE = "PARLEY_TOKEN";

  @Option(names = "--server", defaultValue = "http://127.0.0.1:8080", paramLabel = "URL",
      description = "the node's HTTP address (default: ${DEFAULT-VALUE})")
  URI server;

  @Option(names = "--handle", required = true, paramLabel = "NAME",
      description = "your handle (login name); shown to you, never sent to others")
  String handle;

  @Option(names = "--device", defaultValue = "1", paramLabel = "N",
      description = "this device's number, 1-127, one per running client of an account (default: ${DEFAULT-VALUE})")
  int device;

  @Option(names = "--store", paramLabel = "DIR",
      description = "the device store: keys, sessions, handle book, encrypted (default: ~/.parley/HOST_PORT/HANDLE-DEVICE)")
  Path store;

  @Option(names = "--token-file", paramLabel = "FILE",
      description = "a file holding your bearer token (read again when it expires); else $PARLEY_TOKEN; "
          + "else a development login (embedded nodes only)")
  Path tokenFile;

  @Option(names = "--passphrase-env", paramLabel = "VAR",
      description = "read the store passphrase from this environment variable; without it and without "
          + "$PARLEY_STORE_KEY (32 bytes, base64) the passphrase is asked for")
  String passphraseEnv;

  @Option(names = "--timeout", defaultValue = "30", paramLabel = "SECONDS",
      description = "how long to wait for the server's answers (default: ${DEFAULT-VALUE})")
  long timeoutSeconds;

  Path storeDirectory() {
    if (store != null) {
      return store;
    }
    int port = server.getPort() > 0 ? server.getPort() : "https".equals(server.getScheme()) ? 443 : 80;
    return Path.of(System.getProperty("user.home"), ".parley", server.getHost() + "_" + port,
        handle + "-" + device);
  }

  long timeoutMillis() {
    return timeoutSeconds * 1000;
  }
}
