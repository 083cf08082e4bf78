package io.parley.auth;

import com.nimbusds.jose.jwk.Curve;
import com.nimbusds.jose.jwk.ECKey;
import com.nimbusds.jose.jwk.JWK;
import com.nimbusds.jose.jwk.JWKSet;
import com.nimbusds.jose.jwk.KeyUse;
import com.nimbusds.jose.jwk.RSAKey;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.PublicKey;
import java.security.interfaces.ECPublicKey;
import java.security.interfaces.RSAPublicKey;
import java.security.spec.X509EncodedKeySpec;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Reads {@code -----BEGIN PUBLIC KEY-----} blocks (RSA or EC P-256) into JWKs with the JDK alone.
 * nimbus's {@code JWK.parseFromPEMEncodedObjects} would need BouncyCastle on the class path.
 */
final class PemKeys {

  private static final Pattern BLOCK =
      Pattern.compile("-----BEGIN ([A-Z ]+)-----(.*?)-----END \\1-----", Pattern.DOTALL);
  private static final int MIN_RSA_BITS = 2048;

  private PemKeys() {}

  static JWKSet parse(String pem) {
    // a PEM passed through an environment variable often arrives with literal "\n"
    String text = pem.replace("\\n", "\n");
    List<JWK> keys = new ArrayList<>();
    Matcher block = BLOCK.matcher(text);
    while (block.find()) {
      if (!block.group(1).equals("PUBLIC KEY")) {
        throw new IllegalArgumentException(
            "parley.auth.public-key-pem: expected a PUBLIC KEY block (SubjectPublicKeyInfo), found " + block.group(1));
      }
      byte[] der = Base64.getMimeDecoder().decode(block.group(2));
      keys.add(toJwk(decode(der)));
    }
    if (keys.isEmpty()) {
      throw new IllegalArgumentException("parley.auth.public-key-pem holds no -----BEGIN PUBLIC KEY----- block");
    }
    return new JWKSet(keys);
  }

  private static PublicKey decode(byte[] der) {
    for (String algorithm : List.of("RSA", "EC")) {
      try {
        return KeyFactory.getInstance(algorithm).generatePublic(new X509EncodedKeySpec(der));
      } catch (GeneralSecurityException notThisAlgorithm) {
        // try the next one
      }
    }
    throw new IllegalArgumentException("parley.auth.public-key-pem: neither an RSA nor an EC public key");
  }

  private static JWK toJwk(PublicKey key) {
    if (key instanceof RSAPublicKey rsa) {
      if (rsa.getModulus().bitLength() < MIN_RSA_BITS) {
        throw new IllegalArgumentException("parley.auth.public-key-pem: RSA keys need at least " + MIN_RSA_BITS + " bits");
      }
      return new RSAKey.Builder(rsa).keyUse(KeyUse.SIGNATURE).build();
    }
    ECPublicKey ec = (ECPublicKey) key;
    if (!Curve.P_256.equals(Curve.forECParameterSpec(ec.getParams()))) {
      throw new IllegalArgumentException("parley.auth.public-key-pem: EC keys must be on P-256 (ES256)");
    }
    return new ECKey.Builder(Curve.P_256, ec).keyUse(KeyUse.SIGNATURE).build();
  }
}
