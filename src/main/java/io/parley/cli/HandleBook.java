package io.parley.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.parley.client.StoreKey;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.GeneralSecurityException;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import javax.crypto.AEADBadTagException;
import javax.crypto.Cipher;
import javax.crypto.Mac;
import javax.crypto.SecretKeyFactory;
import javax.crypto.spec.GCMParameterSpec;
import javax.crypto.spec.PBEKeySpec;
import javax.crypto.spec.SecretKeySpec;

/**
 * What this device knows that the server does not tell: which handle belongs to which account id, and who
 * is in which conversation. Kept in the device store's directory, sealed with AES-256-GCM under a key
 * derived from the store key (the server only ever sees account ids; handles stay on the device).
 *
 * <p>File format: {@code "PCB1"}, salt length (one byte), salt (for a passphrase; none for a raw key),
 * 12-byte nonce, ciphertext with its 16-byte tag.
 */
final class HandleBook {
  static final String FILE = "cli-handle-book";
  private static final byte[] MAGIC = "PCB1".getBytes(StandardCharsets.US_ASCII);
  private static final byte[] AAD = "parley cli handle book".getBytes(StandardCharsets.US_ASCII);
  private static final int NONCE_BYTES = 12;
  private static final int TAG_BITS = 128;
  private static final ObjectMapper JSON = new ObjectMapper();

  /** The book's content: account id → handle, conversation id → member account ids. */
  record Entries(Map<String, String> handles, Map<String, List<String>> members) {
    Entries {
      handles = handles == null ? Map.of() : handles;
      members = members == null ? Map.of() : members;
    }
  }

  private final Path file;
  private final byte[] salt;
  private final SecretKeySpec key;
  private final SecureRandom random = new SecureRandom();
  private final Map<String, String> handles;
  private final Map<String, List<String>> members;

  private HandleBook(Path file, byte[] salt, SecretKeySpec key, Entries entries) {
    this.file = file;
    this.salt = salt;
    this.key = key;
    this.handles = new TreeMap<>(entries.handles());
    this.members = new TreeMap<>(entries.members());
  }

  /** Opens the book in {@code storeDirectory}, or starts an empty one; a wrong key fails with a {@link CliFailure}. */
  static HandleBook open(Path storeDirectory, StoreKey storeKey) {
    Path file = storeDirectory.resolve(FILE);
    try {
      if (!Files.exists(file)) {
        byte[] salt = storeKey instanceof StoreKey.Passphrase ? randomBytes(16) : new byte[0];
        return new HandleBook(file, salt, deriveKey(storeKey, salt), new Entries(Map.of(), Map.of()));
      }
      ByteBuffer sealed = ByteBuffer.wrap(Files.readAllBytes(file));
      byte[] magic = new byte[MAGIC.length];
      sealed.get(magic);
      if (!Arrays.equals(magic, MAGIC)) {
        throw new CliFailure(ExitCode.STORE, "the handle book " + file + " is damaged");
      }
      byte[] salt = new byte[sealed.get() & 0xff];
      sealed.get(salt);
      SecretKeySpec key = deriveKey(storeKey, salt);
      byte[] nonce = new byte[NONCE_BYTES];
      sealed.get(nonce);
      Cipher cipher = Cipher.getInstance("AES/GCM/NoPadding");
      cipher.init(Cipher.DECRYPT_MODE, key, new GCMParameterSpec(TAG_BITS, nonce));
      cipher.updateAAD(AAD);
      byte[] plain = cipher.doFinal(sealed.array(), sealed.position(), sealed.remaining());
      return new HandleBook(file, salt, key, JSON.readValue(plain, Entries.class));
    } catch (AEADBadTagException e) {
      throw new CliFailure(ExitCode.STORE, "wrong store key or passphrase for the handle book in " + storeDirectory, e);
    } catch (IOException | GeneralSecurityException | java.nio.BufferUnderflowException e) {
      throw new CliFailure(ExitCode.STORE, "the handle book in " + storeDirectory + " cannot be read: " + e, e);
    }
  }

  private static SecretKeySpec deriveKey(StoreKey storeKey, byte[] salt) throws GeneralSecurityException {
    byte[] derived;
    if (storeKey instanceof StoreKey.Raw raw) {
      byte[] rawKey = raw.key();
      Mac mac = Mac.getInstance("HmacSHA256");
      mac.init(new SecretKeySpec(rawKey, "HmacSHA256"));
      derived = mac.doFinal(AAD);
      Arrays.fill(rawKey, (byte) 0);
    } else {
      StoreKey.Passphrase passphrase = (StoreKey.Passphrase) storeKey;
      char[] chars = passphrase.passphrase();
      PBEKeySpec spec = new PBEKeySpec(chars, salt, passphrase.iterations(), 256);
      try {
        derived = SecretKeyFactory.getInstance("PBKDF2WithHmacSHA256").generateSecret(spec).getEncoded();
      } finally {
        spec.clearPassword();
        Arrays.fill(chars, '\0');
      }
    }
    return new SecretKeySpec(derived, "AES");
  }

  synchronized Optional<String> handleOf(String accountId) {
    return Optional.ofNullable(handles.get(accountId));
  }

  synchronized Optional<String> accountOf(String handle) {
    return handles.entrySet().stream().filter(entry -> entry.getValue().equals(handle))
        .map(Map.Entry::getKey).findFirst();
  }

  synchronized void rememberHandle(String handle, String accountId) {
    if (!handle.equals(handles.get(accountId))) {
      handles.values().removeIf(handle::equals);
      handles.put(accountId, handle);
      save();
    }
  }

  synchronized Optional<List<String>> members(String conversationId) {
    return Optional.ofNullable(members.get(conversationId));
  }

  synchronized void rememberMembers(String conversationId, List<String> accountIds) {
    List<String> sorted = accountIds.stream().distinct().sorted().toList();
    if (!sorted.equals(members.get(conversationId))) {
      members.put(conversationId, sorted);
      save();
    }
  }

  synchronized void forgetConversation(String conversationId) {
    if (members.remove(conversationId) != null) {
      save();
    }
  }

  /** A conversation whose members are exactly {@code accountIds}, if this device knows one (the first by id). */
  synchronized Optional<String> conversationWith(Set<String> accountIds) {
    return members.entrySet().stream()
        .filter(entry -> new HashSet<>(entry.getValue()).equals(accountIds))
        .map(Map.Entry::getKey).findFirst();
  }

  synchronized Entries entries() {
    Map<String, List<String>> copy = new TreeMap<>();
    members.forEach((conversation, ids) -> copy.put(conversation, new ArrayList<>(ids)));
    return new Entries(new TreeMap<>(handles), copy);
  }

  private void save() {
    try {
      byte[] plain = JSON.writeValueAsBytes(entries());
      byte[] nonce = randomBytes(NONCE_BYTES);
      Cipher cipher = Cipher.getInstance("AES/GCM/NoPadding");
      cipher.init(Cipher.ENCRYPT_MODE, key, new GCMParameterSpec(TAG_BITS, nonce));
      cipher.updateAAD(AAD);
      byte[] sealed = ByteBuffer.allocate(MAGIC.length + 1 + salt.length + NONCE_BYTES + cipher.getOutputSize(plain.length))
          .put(MAGIC).put((byte) salt.length).put(salt).put(nonce).put(cipher.doFinal(plain)).array();
      Files.createDirectories(file.getParent());
      Path temp = file.resolveSibling(FILE + ".tmp");
      Files.write(temp, sealed);
      try {
        Files.move(temp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
      } catch (AtomicMoveNotSupportedException e) {
        Files.move(temp, file, StandardCopyOption.REPLACE_EXISTING);
      }
    } catch (IOException | GeneralSecurityException e) {
      throw new CliFailure(ExitCode.STORE, "the handle book could not be written: " + e, e);
    }
  }

  private static byte[] randomBytes(int count) {
    byte[] bytes = new byte[count];
    new SecureRandom().nextBytes(bytes);
    return bytes;
  }
}
