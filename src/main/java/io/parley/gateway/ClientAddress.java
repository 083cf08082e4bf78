package io.parley.gateway;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

/**
 * The address a request comes from, for per-address limits: the connection's peer, or, when the peer is
 * a trusted reverse proxy, the address {@code X-Forwarded-For} names. The header is read from the right
 * (what the nearest proxy appended) and trusted proxies are skipped; a client cannot forge its way past
 * them, because only a trusted proxy's additions are believed.
 */
final class ClientAddress {
  /** An IP literal: a name would need a DNS lookup, and a client must not make the node do one. */
  private static final Pattern IP_LITERAL = Pattern.compile("[0-9A-Fa-f.:]{2,45}");

  private final Set<InetAddress> trustedProxies;

  ClientAddress(List<String> trustedProxies) {
    this.trustedProxies = trustedProxies.stream()
        .map(proxy -> parse(proxy).orElseThrow(() -> new IllegalArgumentException("not an IP address: " + proxy)))
        .collect(Collectors.toUnmodifiableSet());
  }

  Optional<String> of(Optional<InetAddress> peer, Optional<String> forwardedFor) {
    if (peer.isEmpty()) {
      return Optional.empty();
    }
    InetAddress client = peer.get();
    if (trustedProxies.contains(client) && forwardedFor.isPresent()) {
      String[] hops = forwardedFor.get().split(",");
      for (int i = hops.length - 1; i >= 0; i--) {
        Optional<InetAddress> hop = parse(hops[i].strip());
        if (hop.isEmpty()) {
          break; // garbage in the header: the last address believed stands
        }
        client = hop.get();
        if (!trustedProxies.contains(client)) {
          break;
        }
      }
    }
    return Optional.of(client.getHostAddress());
  }

  private static Optional<InetAddress> parse(String text) {
    if (!IP_LITERAL.matcher(text).matches()) {
      return Optional.empty();
    }
    try {
      return Optional.of(InetAddress.getByName(text));
    } catch (UnknownHostException e) {
      return Optional.empty();
    }
  }
}
