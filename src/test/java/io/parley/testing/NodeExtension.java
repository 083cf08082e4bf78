package io.parley.testing;

import io.parley.ParleyNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * One Parley node for a test class, on free ports and embedded stores in a data dir of its own:
 * {@code @RegisterExtension static final NodeExtension parley = new NodeExtension(Map.of(...));}
 */
public final class NodeExtension implements BeforeAllCallback, AfterAllCallback {
  private final Map<String, Object> overrides;
  private Path dataDir;
  private ParleyNode node;

  public NodeExtension() {
    this(Map.of());
  }

  public NodeExtension(Map<String, Object> overrides) {
    this.overrides = Map.copyOf(overrides);
  }

  @Override
  public void beforeAll(ExtensionContext context) throws IOException {
    if (node == null) {
      dataDir = Files.createTempDirectory("parley-test-");
      node = TestNode.start(dataDir, overrides);
    }
  }

  @Override
  public void afterAll(ExtensionContext context) throws IOException {
    if (node != null && context.getParent().flatMap(ExtensionContext::getParent).isEmpty()) {
      TestNode.stop(node);
      node = null;
      try (Stream<Path> files = Files.walk(dataDir)) {
        files.sorted(Comparator.reverseOrder()).forEach(path -> path.toFile().delete());
      }
    }
  }

  public ParleyNode node() {
    return node;
  }

  public int port() {
    return node.httpAddress().getPort();
  }
}
