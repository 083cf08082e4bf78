package io.parley.client;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.signal.libsignal.protocol.IdentityKeyPair;
import org.signal.libsignal.protocol.state.PreKeyRecord;

class DeviceStoreTest {
  @TempDir
  Path dir;

  private static StoreKey randomKey() {
    byte[] key = new byte[32];
    new SecureRandom().nextBytes(key);
    return StoreKey.raw(key);
  }

  private static void newIdentity(DeviceStore store, IdentityKeyPair pair) {
    store.saveIdentity(new DeviceStore.Identity(KeyMaterial.b64(pair.serialize()), 4711, 1, 1, 1, 0));
  }

  @Test
  void keepsEverythingAcrossReopen() {
    StoreKey key = randomKey();
    IdentityKeyPair pair = IdentityKeyPair.generate();
    try (DeviceStore store = DeviceStore.open(dir, key)) {
      newIdentity(store, pair);
      store.storePreKeys(KeyMaterial.oneTimePreKeys(1, 5));
      store.saveCursor("c-12345678", 41);
      store.saveParticipants("c-12345678", List.of("u_a", "u_b"));
      store.savePending(new DeviceStore.PendingSend("k-00000001", "c-12345678", "hello", 7, "{}"));
    }
    try (DeviceStore store = DeviceStore.open(dir, key)) {
      assertThat(store.getIdentityKeyPair().serialize()).isEqualTo(pair.serialize());
      assertThat(store.getLocalRegistrationId()).isEqualTo(4711);
      assertThat(store.preKeyCount()).isEqualTo(5);
      assertThat(store.cursor("c-12345678")).isEqualTo(41);
      assertThat(store.participants("c-12345678")).containsExactly("u_a", "u_b");
      assertThat(store.pendingSends()).extracting(DeviceStore.PendingSend::text).containsExactly("hello");
    }
  }

  @Test
  void filesDoNotContainTheIdentityKeyOrPlaintextInClear() throws IOException {
    IdentityKeyPair pair = IdentityKeyPair.generate();
    try (DeviceStore store = DeviceStore.open(dir, randomKey())) {
      newIdentity(store, pair);
      store.savePending(new DeviceStore.PendingSend("k-00000001", "c-12345678", "canary-plaintext-7f3a", 7, "{}"));
    }
    byte[] privateKey = pair.getPrivateKey().serialize();
    byte[] publicKey = pair.getPublicKey().serialize();
    try (Stream<Path> files = Files.walk(dir)) {
      for (Path file : files.filter(Files::isRegularFile).toList()) {
        byte[] content = Files.readAllBytes(file);
        assertThat(indexOf(content, privateKey)).as("private identity key in %s", file).isEqualTo(-1);
        assertThat(indexOf(content, publicKey)).as("public identity key in %s", file).isEqualTo(-1);
        assertThat(indexOf(content, KeyMaterial.b64(privateKey).getBytes(StandardCharsets.US_ASCII))).isEqualTo(-1);
        assertThat(new String(content, StandardCharsets.ISO_8859_1)).doesNotContain("canary-plaintext-7f3a");
      }
    }
  }

  @Test
  void wrongKeyAndWrongPassphraseFailClearly() {
    try (DeviceStore store = DeviceStore.open(dir.resolve("raw"), randomKey())) {
      newIdentity(store, IdentityKeyPair.generate());
    }
    assertThatThrownBy(() -> DeviceStore.open(dir.resolve("raw"), randomKey()))
        .isInstanceOf(ParleyClientException.StoreFailure.class)
        .hasMessageContaining("wrong store key or passphrase");

    try (DeviceStore store = DeviceStore.open(dir.resolve("pass"), StoreKey.passphrase("correct horse".toCharArray(), 20_000))) {
      newIdentity(store, IdentityKeyPair.generate());
    }
    assertThat(dir.resolve("pass/store.kdf")).exists();
    assertThatThrownBy(() -> DeviceStore.open(dir.resolve("pass"), StoreKey.passphrase("wrong horse".toCharArray(), 20_000)))
        .isInstanceOf(ParleyClientException.StoreFailure.class)
        .hasMessageContaining("wrong store key or passphrase");
    try (DeviceStore store = DeviceStore.open(dir.resolve("pass"), StoreKey.passphrase("correct horse".toCharArray(), 20_000))) {
      assertThat(store.identity()).isPresent();
    }
    assertThatThrownBy(() -> DeviceStore.open(dir.resolve("pass"), randomKey()))
        .isInstanceOf(ParleyClientException.StoreFailure.class)
        .hasMessageContaining("passphrase");
  }

  @Test
  void aStoreIsUsedByOneClientAtATime() {
    StoreKey key = randomKey();
    try (DeviceStore first = DeviceStore.open(dir, key)) {
      assertThatThrownBy(() -> DeviceStore.open(dir, key))
          .isInstanceOf(ParleyClientException.StoreFailure.class)
          .hasMessageContaining("in use");
    }
    DeviceStore.open(dir, key).close();
  }

  @Test
  void aFileSwappedForAnotherFailsAuthentication() throws IOException {
    StoreKey key = randomKey();
    try (DeviceStore store = DeviceStore.open(dir, key)) {
      newIdentity(store, IdentityKeyPair.generate());
      store.saveCursor("c-12345678", 3);
    }
    Files.copy(dir.resolve("cursors"), dir.resolve("identity"), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
    assertThatThrownBy(() -> DeviceStore.open(dir, key))
        .isInstanceOf(ParleyClientException.StoreFailure.class)
        .hasMessageContaining("failed authentication");
  }

  @Test
  void writesLeaveNoTemporaryFiles() throws IOException {
    try (DeviceStore store = DeviceStore.open(dir, randomKey())) {
      newIdentity(store, IdentityKeyPair.generate());
      for (int i = 1; i <= 20; i++) {
        store.saveCursor("c-12345678", i);
      }
      PreKeyRecord one = KeyMaterial.oneTimePreKeys(9, 1).get(0);
      store.storePreKey(one.getId(), one);
      store.removePreKey(one.getId());
      assertThat(store.containsPreKey(9)).isFalse();
    }
    try (Stream<Path> files = Files.walk(dir)) {
      assertThat(files.map(Path::toString)).noneMatch(name -> name.endsWith(".tmp"));
    }
  }

  static int indexOf(byte[] haystack, byte[] needle) {
    outer:
    for (int i = 0; i + needle.length <= haystack.length; i++) {
      for (int j = 0; j < needle.length; j++) {
        if (haystack[i + j] != needle[j]) {
          continue outer;
        }
      }
      return i;
    }
    return -1;
  }
}
