package io.parley.agent.demo;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import io.parley.agent.AgentSettings;
import io.parley.agent.AgentSettings.DemoSettings;
import java.net.URI;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code parley agent-demo}: the demo agents on their own, for a Parley node in another process. */
@Command(name = "agent-demo", mixinStandardHelpOptions = true, sortOptions = false,
    description = {
      "Serve Parley's demo agents on one port: an echo/FAQ agent at /echo and an agent that forwards to an",
      "OpenAI-compatible chat-completions service at /openai (PARLEY_OPENAI_BASE_URL, PARLEY_OPENAI_API_KEY,",
      "PARLEY_OPENAI_MODEL). Register each with the node under its id, its endpoint and the shared secret",
      "given in PARLEY_DEMO_AGENT_SECRET. An embedded node starts them by itself."})
public final class AgentDemoCommand implements Callable<Integer> {
  static final String SECRET_ENV = "PARLEY_DEMO_AGENT_SECRET";

  @Option(names = "--parley-url", paramLabel = "URL",
      description = "the Parley node the agents reply to (default: http://127.0.0.1:<parley.http.port>)")
  URI parleyUrl;

  @Option(names = "--host", defaultValue = "127.0.0.1", description = "address to listen on (default: ${DEFAULT-VALUE})")
  String host;

  @Option(names = "--port", paramLabel = "PORT", description = "port to listen on (default: parley.agents.demo.port, 8090)")
  Integer port;

  @Option(names = "--echo-id", paramLabel = "ID", description = "the echo agent's id in the registry (default: echo)")
  String echoId;

  @Option(names = "--openai-id", paramLabel = "ID", description = "the forwarder's id in the registry (default: openai)")
  String openAiId;

  @Override
  public Integer call() throws InterruptedException {
    Map<String, String> environment = System.getenv();
    String secret = environment.getOrDefault(SECRET_ENV, "");
    if (secret.isBlank()) {
      System.err.println("Set " + SECRET_ENV + " to the secret the demo agents are registered with.");
      return 2;
    }
    Config config = ConfigFactory.load();
    DemoSettings settings = AgentSettings.from(config).demo();
    DemoAgents.Options defaults = DemoAgents.Options.from(settings,
        parleyUrl != null ? parleyUrl : URI.create("http://127.0.0.1:" + config.getInt("parley.http.port")),
        secret, secret, environment);
    DemoAgents.Options options = new DemoAgents.Options(host, port != null ? port : defaults.port(),
        defaults.parleyUrl(),
        echoId != null ? new DemoAgents.Identity(echoId, secret) : defaults.echo(),
        openAiId != null ? new DemoAgents.Identity(openAiId, secret) : defaults.openAi(),
        defaults.openAiService());

    DemoAgents agents = DemoAgents.start(options);
    CountDownLatch stopped = new CountDownLatch(1);
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      agents.close();
      stopped.countDown();
    }, "parley-agent-demo-shutdown"));
    System.out.printf("Parley demo agents are up: %s (%s) at %s, %s (%s) at %s; replying to %s%n",
        options.echo().agentId(), "echo/FAQ", agents.echoEndpoint(),
        options.openAi().agentId(), options.openAiService(), agents.openAiEndpoint(), options.parleyUrl());
    stopped.await();
    return 0;
  }
}
