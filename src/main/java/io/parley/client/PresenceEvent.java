package io.parley.client;

/**
 * A contact's presence: {@code online} while any of the contact's devices is connected; {@code lastSeen}
 * (epoch ms) when offline, null when online or never seen.
 */
public record PresenceEvent(String user, boolean online, Long lastSeen) {}
