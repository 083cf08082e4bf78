package io.parley.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.parley.testing.NodeExtension;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PipedInputStream;
import java.io.PipedOutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.time.ZoneOffset;
import java.util.Base64;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Pattern;
import org.jline.terminal.Terminal;
import org.jline.terminal.impl.DumbTerminal;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/** Two {@code parley chat} sessions on dumb terminals with piped keyboards, talking through a real node. */
class ChatCommandIntegrationTest {
  @RegisterExtension
  static final NodeExtension parley = new NodeExtension(Map.of("parley.directory.claim-rate", 10_000,
      "parley.agents.enabled", true, "parley.agents.demo.start-with-node", true));

  private static final AtomicInteger USERS = new AtomicInteger();
  private static final Duration WAIT = Duration.ofSeconds(30);

  @TempDir Path stores;

  /** One chat: its keyboard, its screen, its exit status. */
  private final class Session implements AutoCloseable {
    final PipedOutputStream keyboard = new PipedOutputStream();
    final ByteArrayOutputStream screen = new ByteArrayOutputStream();
    final CliRunner.Running running;

    Session(String handle, String key) throws IOException {
      PipedInputStream input = new PipedInputStream(keyboard, 64 * 1024);
      ChatCommand chat = new ChatCommand(CliRunner.environment(key, ""),
          () -> new DumbTerminal("test", Terminal.TYPE_DUMB, input, screen, StandardCharsets.UTF_8),
          Clock.systemUTC(), ZoneOffset.UTC);
      running = CliRunner.start(chat, "--server", "http://127.0.0.1:" + parley.port(), "--handle", handle,
          "--store", stores.resolve(handle).toString());
      awaitScreen("signed in as " + handle);
    }

    void type(String line) throws IOException {
      keyboard.write((line + "\n").getBytes(StandardCharsets.UTF_8));
      keyboard.flush();
    }

    String screen() {
      return screen.toString(StandardCharsets.UTF_8);
    }

    void awaitScreen(String text) {
      await().atMost(WAIT).untilAsserted(() -> assertThat(screen()).contains(text));
    }

    void awaitScreen(Pattern pattern) {
      await().atMost(WAIT).untilAsserted(() -> assertThat(screen()).containsPattern(pattern));
    }

    int quit() throws IOException {
      type("/quit");
      return running.status().join();
    }

    /** Ends the chat the way Ctrl-D does: the keyboard reaches end of input. */
    @Override
    public void close() throws IOException {
      keyboard.close();
      await().atMost(WAIT).until(running.status()::isDone);
    }
  }

  private Session alice;
  private Session bob;

  @AfterEach
  void tearDown() throws IOException {
    if (alice != null) {
      alice.close();
    }
    if (bob != null) {
      bob.close();
    }
  }

  private static String key() {
    byte[] bytes = new byte[32];
    new SecureRandom().nextBytes(bytes);
    return Base64.getEncoder().encodeToString(bytes);
  }

  @Test
  void aNewcomerListsTheAgentsAndChatsWithOne() throws IOException {
    String handle = "newcomer-" + USERS.incrementAndGet();
    alice = new Session(handle, key());

    await().atMost(WAIT).untilAsserted(() -> {
      alice.type("/agents");
      assertThat(alice.screen()).contains("@echo — Echo").contains("@assistant — Parley Assistant (front door");
    });
    alice.type("/agent echo");
    alice.awaitScreen("── @echo (c-");
    alice.type("what is parley?");
    alice.awaitScreen(Pattern.compile("#\\d+ \\d\\d:\\d\\d @echo: .*Parley"));
  }

  @Test
  void twoPeopleChatWithReceiptsAndTyping() throws IOException {
    int n = USERS.incrementAndGet();
    String aliceHandle = "alice-" + n;
    String bobHandle = "bob-" + n;
    bob = new Session(bobHandle, key());
    bob.awaitScreen("no conversations yet");
    alice = new Session(aliceHandle, key());

    alice.type("/new " + bobHandle);
    alice.awaitScreen("── " + bobHandle + " (c-");
    alice.type("hello bob");
    alice.awaitScreen(Pattern.compile("#2 \\d\\d:\\d\\d " + aliceHandle + ": hello bob"));
    bob.awaitScreen(Pattern.compile("\\[1 u_\\S+…] #2 \\d\\d:\\d\\d u_\\S+…: hello bob"));
    alice.awaitScreen("✓ delivered to " + bobHandle + " up to #2");

    bob.type("/open 1");
    bob.awaitScreen("── u_");
    alice.awaitScreen("✓✓ read by " + bobHandle + " up to #2");

    bob.type("hi alice");
    alice.awaitScreen("… " + bobHandle + " is typing");
    alice.awaitScreen(Pattern.compile("#3 \\d\\d:\\d\\d " + bobHandle + ": hi alice"));
    bob.awaitScreen(Pattern.compile("#3 \\d\\d:\\d\\d " + bobHandle + ": hi alice"));
    bob.awaitScreen("✓✓ read by u_");

    alice.type("/list");
    alice.awaitScreen(Pattern.compile("\\*  1  " + bobHandle + "  \\(c-"));
    alice.type("/frobnicate");
    alice.awaitScreen("! unknown command /frobnicate");

    assertThat(alice.quit()).isEqualTo(ExitCode.OK);
    assertThat(bob.quit()).isEqualTo(ExitCode.OK);
  }

  @Test
  void handlesLearnedInOneSessionAreShownInTheNext() throws IOException {
    int n = USERS.incrementAndGet();
    String aliceHandle = "alice-" + n;
    String bobHandle = "bob-" + n;
    String aliceKey = key();
    bob = new Session(bobHandle, key());
    alice = new Session(aliceHandle, aliceKey);
    alice.type("/new " + bobHandle);
    alice.awaitScreen("── " + bobHandle);
    assertThat(alice.quit()).isEqualTo(ExitCode.OK);

    bob.type("/open 1");
    bob.awaitScreen("── u_");
    bob.type("are you there?");
    bob.awaitScreen(Pattern.compile("#2 \\d\\d:\\d\\d " + bobHandle + ": are you there\\?"));

    alice = new Session(aliceHandle, aliceKey);
    alice.awaitScreen(Pattern.compile("1  " + bobHandle + "  \\(c-"));
    alice.awaitScreen(Pattern.compile("\\[1 " + bobHandle + "] #2 \\d\\d:\\d\\d " + bobHandle + ": are you there\\?"));
    alice.type("/open 1");
    alice.awaitScreen("── " + bobHandle);
    alice.type("/leave");
    alice.awaitScreen("· you left the conversation with " + bobHandle);
    bob.awaitScreen(Pattern.compile("u_\\S+… left"));
    assertThat(alice.quit()).isEqualTo(ExitCode.OK);
    assertThat(bob.quit()).isEqualTo(ExitCode.OK);
    assertThat(alice.screen()).doesNotContain("disconnected");
  }
}
