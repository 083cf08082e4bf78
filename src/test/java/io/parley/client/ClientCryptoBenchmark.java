package io.parley.client;

import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.stream.Stream;
import org.signal.libsignal.protocol.IdentityKeyPair;
import org.signal.libsignal.protocol.SessionBuilder;
import org.signal.libsignal.protocol.SessionCipher;
import org.signal.libsignal.protocol.SignalProtocolAddress;
import org.signal.libsignal.protocol.message.PreKeySignalMessage;
import org.signal.libsignal.protocol.message.SignalMessage;
import org.signal.libsignal.protocol.state.impl.InMemorySignalProtocolStore;
import org.signal.libsignal.protocol.state.PreKeyBundle;
import org.signal.libsignal.protocol.state.PreKeyRecord;

/**
 * Client-side cost of end-to-end encryption per message (not a test: surefire does not run it).
 * Two devices' {@link DeviceStore}s on local disk, encrypted at rest and written through with fsync, as the
 * SDK runs; the same over stores that skip the disk shows what the pure cryptography costs.
 *
 * <pre>
 * ./mvnw -q -o test-compile dependency:build-classpath -Dmdep.outputFile=target/cp.txt
 * java -cp target/classes:target/test-classes:$(cat target/cp.txt) io.parley.client.ClientCryptoBenchmark [messages]
 * </pre>
 */
public final class ClientCryptoBenchmark {
  private ClientCryptoBenchmark() {}

  public static void main(String[] args) throws Exception {
    int messages = args.length > 0 ? Integer.parseInt(args[0]) : 2_000;
    int preKeyMessages = Math.min(messages, 400);
    System.out.printf(Locale.ROOT, "%d Whisper messages, %d PreKey messages, 256-byte texts%n", messages,
        preKeyMessages);
    System.out.println("-- libsignal alone, in-memory stores");
    inMemory(messages, preKeyMessages);
    System.out.println("-- the SDK's device stores: encrypted at rest, fsync per write");
    Path root = Files.createTempDirectory("parley-crypto-bench-");
    try {
      run(root, messages, preKeyMessages);
    } finally {
      try (Stream<Path> files = Files.walk(root)) {
        files.sorted(Comparator.reverseOrder()).forEach(path -> path.toFile().delete());
      }
    }
  }

  private static void run(Path root, int messages, int preKeyMessages) throws Exception {
    byte[] key = new byte[32];
    new SecureRandom().nextBytes(key);
    try (DeviceStore alice = DeviceStore.open(root.resolve("alice"), StoreKey.raw(key));
         DeviceStore bob = DeviceStore.open(root.resolve("bob"), StoreKey.raw(key))) {
      register(alice, 1, 1);
      register(bob, 2, preKeyMessages + 50);
      SessionCrypto a = new SessionCrypto(alice);
      SessionCrypto b = new SessionCrypto(bob);
      byte[] plaintext = new Plaintext("x".repeat(256), 0).encode();

      // warm-up: JIT and native library
      a.process("u_bob", SessionCryptoTest.bundleOf(bob, 1, 1));
      for (int i = 0; i < 200; i++) {
        SessionCrypto.Sealed sealed = a.encrypt("u_bob", 1, plaintext);
        b.decrypt("u_alice", 1, sealed.type(), sealed.body());
        SessionCrypto.Sealed reply = b.encrypt("u_alice", 1, plaintext);
        a.decrypt("u_bob", 1, reply.type(), reply.body());
      }

      long[] encrypt = new long[messages];
      long[] decrypt = new long[messages];
      int bytes = 0;
      for (int i = 0; i < messages; i++) {
        long t0 = System.nanoTime();
        SessionCrypto.Sealed sealed = a.encrypt("u_bob", 1, plaintext);
        long t1 = System.nanoTime();
        b.decrypt("u_alice", 1, sealed.type(), sealed.body());
        long t2 = System.nanoTime();
        encrypt[i] = t1 - t0;
        decrypt[i] = t2 - t1;
        bytes = sealed.body().length;
        if (sealed.type() != 2) {
          throw new IllegalStateException("expected Whisper messages");
        }
      }
      report("Whisper (type 2), " + bytes + " B", encrypt, decrypt);

      long[] setUp = new long[preKeyMessages];
      long[] preEncrypt = new long[preKeyMessages];
      long[] preDecrypt = new long[preKeyMessages];
      for (int i = 0; i < preKeyMessages; i++) {
        PreKeyBundle bundle = SessionCryptoTest.bundleOf(bob, 1, i + 2);
        alice.deleteSession(new SignalProtocolAddress("u_bob", 1));
        bob.deleteSession(new SignalProtocolAddress("u_alice", 1));
        long t0 = System.nanoTime();
        a.process("u_bob", bundle);
        long t1 = System.nanoTime();
        SessionCrypto.Sealed sealed = a.encrypt("u_bob", 1, plaintext);
        long t2 = System.nanoTime();
        b.decrypt("u_alice", 1, sealed.type(), sealed.body());
        long t3 = System.nanoTime();
        setUp[i] = t1 - t0;
        preEncrypt[i] = t2 - t1;
        preDecrypt[i] = t3 - t2;
        bytes = sealed.body().length;
        if (sealed.type() != 3) {
          throw new IllegalStateException("expected PreKey messages");
        }
      }
      report("PQXDH set-up from a bundle", setUp, null);
      report("PreKey (type 3), " + bytes + " B", preEncrypt, preDecrypt);
    }
  }

  private static void inMemory(int messages, int preKeyMessages) throws Exception {
    var aliceIdentity = IdentityKeyPair.generate();
    var bobIdentity = IdentityKeyPair.generate();
    var alice = new InMemorySignalProtocolStore(aliceIdentity, 1);
    var bob = new InMemorySignalProtocolStore(bobIdentity, 2);
    SignalProtocolAddress toBob = new SignalProtocolAddress("u_bob", 1);
    SignalProtocolAddress toAlice = new SignalProtocolAddress("u_alice", 1);
    var signed = KeyMaterial.signedPreKey(1, bobIdentity, 0);
    var kyber = KeyMaterial.kyberPreKey(1, bobIdentity, 0);
    bob.storeSignedPreKey(1, signed);
    bob.storeKyberPreKey(1, kyber);
    List<PreKeyRecord> oneTime = KeyMaterial.oneTimePreKeys(1, preKeyMessages + 1);
    oneTime.forEach(record -> bob.storePreKey(record.getId(), record));
    byte[] plaintext = new Plaintext("x".repeat(256), 0).encode();
    java.util.function.IntFunction<PreKeyBundle> bundle = id -> {
      try {
        return new PreKeyBundle(2, 1, id, oneTime.get(id - 1).getKeyPair().getPublicKey(), 1,
            signed.getKeyPair().getPublicKey(), signed.getSignature(), bobIdentity.getPublicKey(), 1,
            kyber.getKeyPair().getPublicKey(), kyber.getSignature());
      } catch (Exception e) {
        throw new IllegalStateException(e);
      }
    };
    new SessionBuilder(alice, toBob).process(bundle.apply(1));
    SessionCipher a = new SessionCipher(alice, toBob);
    SessionCipher b = new SessionCipher(bob, toAlice);
    for (int i = 0; i < 200; i++) {
      open(b, a.encrypt(plaintext));
      open(a, b.encrypt(plaintext));
    }
    long[] encrypt = new long[messages];
    long[] decrypt = new long[messages];
    for (int i = 0; i < messages; i++) {
      long t0 = System.nanoTime();
      var message = a.encrypt(plaintext);
      long t1 = System.nanoTime();
      b.decrypt(new SignalMessage(message.serialize()));
      encrypt[i] = t1 - t0;
      decrypt[i] = System.nanoTime() - t1;
    }
    report("Whisper (type 2)", encrypt, decrypt);
    long[] setUp = new long[preKeyMessages];
    long[] preEncrypt = new long[preKeyMessages];
    long[] preDecrypt = new long[preKeyMessages];
    for (int i = 0; i < preKeyMessages; i++) {
      alice.deleteSession(toBob);
      bob.deleteSession(toAlice);
      PreKeyBundle next = bundle.apply(i + 2);
      long t0 = System.nanoTime();
      new SessionBuilder(alice, toBob).process(next);
      long t1 = System.nanoTime();
      var message = a.encrypt(plaintext);
      long t2 = System.nanoTime();
      b.decrypt(new PreKeySignalMessage(message.serialize()));
      setUp[i] = t1 - t0;
      preEncrypt[i] = t2 - t1;
      preDecrypt[i] = System.nanoTime() - t2;
    }
    report("PQXDH set-up from a bundle", setUp, null);
    report("PreKey (type 3)", preEncrypt, preDecrypt);
  }

  private static byte[] open(SessionCipher cipher, org.signal.libsignal.protocol.message.CiphertextMessage message)
      throws Exception {
    return message.getType() == 3 ? cipher.decrypt(new PreKeySignalMessage(message.serialize()))
        : cipher.decrypt(new SignalMessage(message.serialize()));
  }

  private static void register(DeviceStore store, int registrationId, int oneTime) {
    IdentityKeyPair pair = IdentityKeyPair.generate();
    store.saveIdentity(new DeviceStore.Identity(KeyMaterial.b64(pair.serialize()), registrationId, 1, 2, 2, 0));
    store.storeSignedPreKey(1, KeyMaterial.signedPreKey(1, pair, 0));
    store.storeKyberPreKey(1, KeyMaterial.kyberPreKey(1, pair, 0));
    List<PreKeyRecord> keys = KeyMaterial.oneTimePreKeys(1, oneTime);
    store.storePreKeys(keys);
  }

  private static void report(String what, long[] first, long[] second) {
    if (second == null) {
      System.out.printf(Locale.ROOT, "%-32s p50 %8.1f µs  p99 %8.1f µs%n", what, pct(first, 50), pct(first, 99));
    } else {
      System.out.printf(Locale.ROOT, "%-32s encrypt p50 %8.1f µs  p99 %8.1f µs | decrypt p50 %8.1f µs  p99 %8.1f µs%n",
          what, pct(first, 50), pct(first, 99), pct(second, 50), pct(second, 99));
    }
  }

  private static double pct(long[] nanos, int percentile) {
    long[] sorted = nanos.clone();
    Arrays.sort(sorted);
    int index = (int) Math.ceil(percentile / 100.0 * sorted.length) - 1;
    return sorted[Math.max(0, index)] / 1_000.0;
  }
}
