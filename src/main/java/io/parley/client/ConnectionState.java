package io.parley.client;

/** Where a {@link ParleyClient}'s connection stands; reported through {@link Listener#onConnectionState}. */
public enum ConnectionState {
  /** Opening the WebSocket or waiting for {@code welcome}. */
  CONNECTING,
  /** Welcomed: sends go out, messages come in. */
  CONNECTED,
  /** The connection was lost; the client waits out its backoff and connects again. */
  RECONNECTING,
  /** The client will not connect again on its own: closed, replaced by another connection, or refused. */
  STOPPED
}
