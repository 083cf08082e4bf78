package io.parley.agent.registry;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.datatype.jdk8.Jdk8Module;
import com.fasterxml.jackson.datatype.jsr310.JavaTimeModule;
import io.parley.agent.AgentSpec;
import io.parley.agent.RegistrySnapshot;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.List;
import java.util.zip.GZIPInputStream;
import java.util.zip.GZIPOutputStream;

/**
 * A registry snapshot as JSON: in Redis as text, between nodes gzipped (example utterances compress several
 * times over, which keeps a large registry far below a remoting frame). Unknown fields are ignored, so a node of
 * the previous version reads a newer node's snapshot during a rolling update. Thread-safe.
 */
public final class SnapshotCodec {
  private static final ObjectMapper JSON = JsonMapper.builder()
      .addModule(new Jdk8Module())
      .addModule(new JavaTimeModule())
      .disable(SerializationFeature.WRITE_DATES_AS_TIMESTAMPS)
      .disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
      .build();

  private SnapshotCodec() {}

  public static String toJson(RegistrySnapshot snapshot) {
    try {
      return JSON.writeValueAsString(snapshot);
    } catch (JsonProcessingException e) {
      throw new IllegalStateException("a registry snapshot did not serialize", e);
    }
  }

  /** @throws IllegalArgumentException when the text is not a snapshot */
  public static RegistrySnapshot fromJson(String json) {
    try {
      return JSON.readValue(json, RegistrySnapshot.class);
    } catch (IOException | RuntimeException e) {
      throw new IllegalArgumentException("not a registry snapshot: " + e.getClass().getSimpleName(), e);
    }
  }

  public static byte[] toGzip(RegistrySnapshot snapshot) {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    try (GZIPOutputStream gzip = new GZIPOutputStream(bytes)) {
      gzip.write(toJson(snapshot).getBytes(StandardCharsets.UTF_8));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return bytes.toByteArray();
  }

  /** @throws IllegalArgumentException when the bytes are not a gzipped snapshot */
  public static RegistrySnapshot fromGzip(byte[] gzipped) {
    try (GZIPInputStream in = new GZIPInputStream(new ByteArrayInputStream(gzipped))) {
      return fromJson(new String(in.readAllBytes(), StandardCharsets.UTF_8));
    } catch (IOException e) {
      throw new IllegalArgumentException("not a gzipped registry snapshot", e);
    }
  }

  /** SHA-256 over the agents' canonical JSON (sorted by id): equal for equal content, whatever the version. */
  public static String contentHash(List<AgentSpec> agents) {
    try {
      byte[] json = JSON.writeValueAsBytes(new RegistrySnapshot(0, java.time.Instant.EPOCH, agents).agents());
      return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(json));
    } catch (JsonProcessingException | NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }
}
