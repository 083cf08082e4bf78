package io.parley.agent.kms;

/**
 * A key-management service's key-encryption key: wraps and unwraps small secrets (data keys, agent secrets),
 * each bound to a context string so a wrapped value moved to another place fails to unwrap. The key itself
 * never leaves the service. Implementations are thread-safe.
 *
 * <p>Parley ships {@link LocalKeyFileKek}; a production adapter calls the provider's encrypt/decrypt
 * operation (AWS KMS Encrypt/Decrypt with the context as encryption context, Google Cloud KMS with it as
 * additional authenticated data, Vault transit with it as context) — see docs/adr/0018.
 */
public interface KeyEncryptionKey {

  /** Which key wrapped a value: stored beside it so a rotated key can still unwrap older values. */
  String keyId();

  byte[] wrap(byte[] plaintext, String context);

  /** @throws KeyUnwrapException when the value was not wrapped by this key under this context, or was altered */
  byte[] unwrap(byte[] wrapped, String context);

  /** The value could not be unwrapped: wrong key, wrong context, or tampering. */
  final class KeyUnwrapException extends RuntimeException {
    public KeyUnwrapException(String message, Throwable cause) {
      super(message, cause);
    }
  }
}
