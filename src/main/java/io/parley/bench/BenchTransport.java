package io.parley.bench;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.UnknownHostException;
import java.time.Duration;
import java.util.Optional;
import org.apache.pekko.actor.ActorSystem;
import org.apache.pekko.http.javadsl.settings.ClientConnectionSettings;
import org.apache.pekko.stream.Materializer;

/**
 * The bench's WebSocket client stack: pekko-http's client on a small local actor system of its own (not
 * Parley's configuration: no cluster, no remoting). pekko-http is used because it can bind each connection
 * to a local address ({@code localAddress} of the client connection), which the JDK's WebSocket client
 * cannot: a node limits WebSocket upgrades per client address (120 a minute by default), so the bench
 * spreads its sockets over loopback source addresses, {@code clientsPerAddress} on each of 127.0.0.2,
 * 127.0.0.3, … (Linux answers the whole 127.0.0.0/8 on the loopback interface).
 */
final class BenchTransport implements AutoCloseable {
  private static final int FIRST_SOURCE = (127 << 24) + 2;

  private final ActorSystem system;
  private final Materializer materializer;
  private final ClientConnectionSettings settings;
  private final boolean spread;
  private final int clientsPerAddress;

  /**
   * @param target the node; source addresses are only spread when it is on loopback
   * @param clientsPerAddress sockets per source address; 0 connects from the default address
   * @param threads the client's dispatcher threads
   */
  BenchTransport(URI target, int clientsPerAddress, int threads) {
    Config config = ConfigFactory.parseString(String.join("\n",
        "pekko.actor.provider = local",
        "pekko.loggers = [\"org.apache.pekko.event.Logging$DefaultLogger\"]",
        "pekko.logger-startup-timeout = 60 s",
        "pekko.loglevel = WARNING",
        "pekko.stdout-loglevel = WARNING",
        "pekko.log-dead-letters = off",
        "pekko.coordinated-shutdown.run-by-jvm-shutdown-hook = off",
        "pekko.actor.default-dispatcher.fork-join-executor.parallelism-min = " + threads,
        "pekko.actor.default-dispatcher.fork-join-executor.parallelism-max = " + threads,
        // a bench socket is quiet between set-up phases; the run itself decides when it ends
        "pekko.http.client.idle-timeout = infinite",
        "pekko.http.client.connecting-timeout = 20 s",
        "pekko.http.server.max-connections = 100000",
        "pekko.http.server.remote-address-attribute = on",
        "pekko.http.server.idle-timeout = infinite"))
        .withFallback(ConfigFactory.defaultReference());
    this.system = ActorSystem.create("parley-bench", config);
    this.materializer = Materializer.matFromSystem(system);
    this.settings = ClientConnectionSettings.create(system).withConnectingTimeout(Duration.ofSeconds(20));
    this.spread = clientsPerAddress > 0 && isLoopback(target.getHost());
    this.clientsPerAddress = clientsPerAddress;
  }

  ActorSystem system() {
    return system;
  }

  Materializer materializer() {
    return materializer;
  }

  /** The client connection settings for socket {@code index}: its source address, if spread. */
  ClientConnectionSettings settingsFor(int index) {
    return spread ? settings.withLocalAddress(Optional.of(new InetSocketAddress(sourceAddress(index), 0))) : settings;
  }

  /** How many source addresses {@code sockets} sockets use. */
  int addressesFor(int sockets) {
    return spread ? (sockets + clientsPerAddress - 1) / clientsPerAddress : 1;
  }

  InetAddress sourceAddress(int index) {
    int address = FIRST_SOURCE + index / clientsPerAddress;
    try {
      return InetAddress.getByAddress(new byte[] {
          (byte) (address >>> 24), (byte) (address >>> 16), (byte) (address >>> 8), (byte) address});
    } catch (UnknownHostException e) {
      throw new IllegalStateException(e);
    }
  }

  private static boolean isLoopback(String host) {
    try {
      InetAddress address = InetAddress.getByName(host);
      return address instanceof Inet4Address && address.isLoopbackAddress();
    } catch (UnknownHostException e) {
      return false;
    }
  }

  @Override
  public void close() {
    system.terminate();
  }
}
