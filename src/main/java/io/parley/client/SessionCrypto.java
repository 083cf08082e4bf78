package io.parley.client;

import org.signal.libsignal.protocol.DuplicateMessageException;
import org.signal.libsignal.protocol.InvalidKeyException;
import org.signal.libsignal.protocol.InvalidKeyIdException;
import org.signal.libsignal.protocol.InvalidMessageException;
import org.signal.libsignal.protocol.InvalidVersionException;
import org.signal.libsignal.protocol.LegacyMessageException;
import org.signal.libsignal.protocol.NoSessionException;
import org.signal.libsignal.protocol.SessionBuilder;
import org.signal.libsignal.protocol.SessionCipher;
import org.signal.libsignal.protocol.SignalProtocolAddress;
import org.signal.libsignal.protocol.UntrustedIdentityException;
import org.signal.libsignal.protocol.message.CiphertextMessage;
import org.signal.libsignal.protocol.message.PreKeySignalMessage;
import org.signal.libsignal.protocol.message.SignalMessage;
import org.signal.libsignal.protocol.state.PreKeyBundle;

/** Signal sessions over a {@link DeviceStore}: PQXDH set-up from bundles, encryption, decryption. */
final class SessionCrypto {
  /** A ciphertext for one device: Signal message type (2 Whisper, 3 PreKey) and serialized body. */
  record Sealed(int type, byte[] body) {}

  /** Why a message could not be opened; mapped to the public exceptions by the caller, who knows the seq. */
  static final class OpenFailure extends Exception {
    enum Reason { UNTRUSTED, DUPLICATE, INVALID, NO_SESSION }

    final Reason reason;

    OpenFailure(Reason reason, Throwable cause) {
      super(reason + ": " + cause.getMessage(), cause);
      this.reason = reason;
    }
  }

  private final DeviceStore store;

  SessionCrypto(DeviceStore store) {
    this.store = store;
  }

  boolean hasSession(String user, int device) {
    return store.containsSession(new SignalProtocolAddress(user, device));
  }

  /** Sets up a session from a claimed bundle (PQXDH); a changed identity key is refused. */
  void process(String user, PreKeyBundle bundle) throws UntrustedIdentityException, InvalidKeyException {
    new SessionBuilder(store, store, store, store, new SignalProtocolAddress(user, bundle.getDeviceId())).process(bundle);
  }

  Sealed encrypt(String user, int device, byte[] plaintext) throws UntrustedIdentityException, NoSessionException {
    CiphertextMessage message = cipher(user, device).encrypt(plaintext);
    return new Sealed(message.getType(), message.serialize());
  }

  byte[] decrypt(String user, int device, int type, byte[] body) throws OpenFailure {
    SessionCipher cipher = cipher(user, device);
    try {
      if (type == CiphertextMessage.PREKEY_TYPE) {
        return cipher.decrypt(new PreKeySignalMessage(body));
      }
      if (type == CiphertextMessage.WHISPER_TYPE) {
        return cipher.decrypt(new SignalMessage(body));
      }
      throw new OpenFailure(OpenFailure.Reason.INVALID, new InvalidMessageException("unknown message type " + type));
    } catch (UntrustedIdentityException e) {
      throw new OpenFailure(OpenFailure.Reason.UNTRUSTED, e);
    } catch (DuplicateMessageException e) {
      throw new OpenFailure(OpenFailure.Reason.DUPLICATE, e);
    } catch (NoSessionException e) {
      throw new OpenFailure(OpenFailure.Reason.NO_SESSION, e);
    } catch (InvalidMessageException | InvalidKeyIdException | InvalidKeyException | InvalidVersionException
             | LegacyMessageException | IllegalArgumentException e) {
      throw new OpenFailure(OpenFailure.Reason.INVALID, e);
    } catch (Exception undeclared) {
      // the native layer can raise checked exceptions its Java signatures do not declare
      throw new OpenFailure(OpenFailure.Reason.INVALID, undeclared);
    }
  }

  void deleteSession(String user, int device) {
    store.deleteSession(new SignalProtocolAddress(user, device));
  }

  private SessionCipher cipher(String user, int device) {
    return new SessionCipher(store, store, store, store, store, new SignalProtocolAddress(user, device));
  }
}
