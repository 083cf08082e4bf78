package io.parley.client;

import java.util.Arrays;
import java.util.Base64;
import java.util.Objects;

/**
 * The key that encrypts the device store at rest (AES-256-GCM): either 32 random bytes the environment
 * provides, or a passphrase stretched with PBKDF2-HMAC-SHA256 and a random salt kept beside the store.
 */
public sealed interface StoreKey {
  /** PBKDF2 iterations for new stores (OWASP's 2023 figure for PBKDF2-HMAC-SHA256). */
  int DEFAULT_ITERATIONS = 600_000;

  /** 32 bytes, used as the AES key directly. */
  record Raw(byte[] key) implements StoreKey {
    public Raw {
      Objects.requireNonNull(key, "key");
      if (key.length != 32) {
        throw new IllegalArgumentException("a store key is 32 bytes, got " + key.length);
      }
      key = key.clone();
    }

    @Override
    public byte[] key() {
      return key.clone();
    }

    @Override
    public String toString() {
      return "StoreKey.Raw[hidden]";
    }
  }

  /** A passphrase; {@code iterations} applies when the store is created (an existing store keeps its own). */
  record Passphrase(char[] passphrase, int iterations) implements StoreKey {
    public Passphrase {
      Objects.requireNonNull(passphrase, "passphrase");
      if (passphrase.length == 0) {
        throw new IllegalArgumentException("empty passphrase");
      }
      if (iterations < 10_000) {
        throw new IllegalArgumentException("at least 10,000 PBKDF2 iterations");
      }
      passphrase = passphrase.clone();
    }

    @Override
    public char[] passphrase() {
      return passphrase.clone();
    }

    @Override
    public String toString() {
      return "StoreKey.Passphrase[hidden, iterations=" + iterations + "]";
    }
  }

  static StoreKey raw(byte[] key) {
    return new Raw(key);
  }

  /** 32 bytes in standard base64. */
  static StoreKey base64(String key) {
    return new Raw(Base64.getDecoder().decode(key.trim()));
  }

  /** 32 bytes in standard base64 from an environment variable, such as {@code PARLEY_STORE_KEY}. */
  static StoreKey fromEnvironment(String variable) {
    String value = System.getenv(variable);
    if (value == null || value.isBlank()) {
      throw new IllegalArgumentException("environment variable " + variable + " is not set");
    }
    return base64(value);
  }

  static StoreKey passphrase(char[] passphrase) {
    return new Passphrase(passphrase, DEFAULT_ITERATIONS);
  }

  static StoreKey passphrase(char[] passphrase, int iterations) {
    char[] copy = Arrays.copyOf(passphrase, passphrase.length);
    return new Passphrase(copy, iterations);
  }
}
