package io.parley.bench;

import java.net.http.WebSocket;
import java.util.ArrayDeque;
import java.util.concurrent.CompletableFuture;
import java.util.function.Consumer;

/**
 * Writes text frames to one WebSocket one after the other (the JDK WebSocket allows one outstanding
 * send). Frames offered while a write is under way wait here, so a sender never blocks: what waits
 * here is client-side queueing and shows up in the measured latency.
 */
final class SerialSender {
  private final WebSocket socket;
  private final Consumer<Throwable> onFailure;
  private final ArrayDeque<String> queue = new ArrayDeque<>();
  private boolean writing;

  SerialSender(WebSocket socket, Consumer<Throwable> onFailure) {
    this.socket = socket;
    this.onFailure = onFailure;
  }

  void send(String text) {
    synchronized (this) {
      queue.add(text);
      if (writing) {
        return;
      }
      writing = true;
    }
    drain();
  }

  synchronized int backlog() {
    return queue.size();
  }

  private void drain() {
    while (true) {
      String next;
      synchronized (this) {
        next = queue.poll();
        if (next == null) {
          writing = false;
          return;
        }
      }
      CompletableFuture<WebSocket> written = socket.sendText(next, true);
      if (!written.isDone()) {
        written.whenComplete((ws, failure) -> {
          if (failure != null) {
            onFailure.accept(failure);
          }
          drain();
        });
        return;
      }
      written.exceptionally(failure -> {
        onFailure.accept(failure);
        return null;
      });
    }
  }
}
