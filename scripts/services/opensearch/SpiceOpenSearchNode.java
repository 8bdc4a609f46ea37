import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.Arrays;
import java.util.Collection;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import org.opensearch.common.logging.LogConfigurator;
import org.opensearch.common.settings.Settings;
import org.opensearch.env.Environment;
import org.opensearch.node.InternalSettingsPreparer;
import org.opensearch.node.Node;
import org.opensearch.plugins.Plugin;

/**
 * One OpenSearch node in one JVM, for tests on loopback.
 *
 * <p>The distribution's tarball is not on any package registry, but the server jar and the
 * module plugins are on Maven Central. Node has a (protected) constructor that takes plugin
 * classes from the classpath, which is how the modules are loaded here instead of from a
 * modules/ folder. No security plugin, no bootstrap checks, no security manager: this node
 * listens on 127.0.0.1 only and holds throwaway data.
 *
 * <p>Usage: java -cp 'lib/*:classes' SpiceOpenSearchNode HOME HTTP_PORT TRANSPORT_PORT
 * where HOME holds config/ (with log4j2.properties), data/ and logs/.
 */
public final class SpiceOpenSearchNode {

    /** Exposes Node's classpath-plugin constructor. */
    private static final class EmbeddedNode extends Node {
        EmbeddedNode(Environment environment, Collection<Class<? extends Plugin>> plugins) {
            super(environment, plugins, true);
        }
    }

    private static final List<String> MODULE_PLUGINS = Arrays.asList(
        "org.opensearch.transport.Netty4Plugin",            // HTTP + transport
        "org.opensearch.analysis.common.CommonAnalysisPlugin",
        "org.opensearch.painless.PainlessPlugin",
        "org.opensearch.index.mapper.MapperExtrasPlugin",
        "org.opensearch.index.reindex.ReindexPlugin",
        "org.opensearch.join.ParentJoinPlugin"
    );

    public static void main(String[] args) throws Exception {
        if (args.length != 3) {
            System.err.println("usage: SpiceOpenSearchNode HOME HTTP_PORT TRANSPORT_PORT");
            System.exit(2);
        }
        Path home = Paths.get(args[0]).toAbsolutePath();
        Path config = home.resolve("config");
        for (String dir : new String[] {"config", "data", "logs", "modules", "plugins"}) {
            Files.createDirectories(home.resolve(dir));
        }

        Settings settings = Settings.builder()
            .put("cluster.name", "spice-test")
            .put("node.name", "spice-node")
            .put("path.home", home.toString())
            .put("path.data", home.resolve("data").toString())
            .put("path.logs", home.resolve("logs").toString())
            .put("network.host", "127.0.0.1")
            .put("http.port", args[1])
            .put("transport.port", args[2])
            .put("discovery.type", "single-node")
            // tests create and drop many indices by prefix
            .put("action.auto_create_index", true)
            .put("action.destructive_requires_name", false)
            // a nearly full disk must not turn indices read-only in the middle of a test run
            .put("cluster.routing.allocation.disk.threshold_enabled", false)
            .build();

        Environment environment = InternalSettingsPreparer.prepareEnvironment(
            settings, Collections.emptyMap(), config, () -> "spice-node");
        LogConfigurator.registerErrorListener();
        LogConfigurator.setNodeName("spice-node");
        LogConfigurator.configure(environment);

        ClassLoader loader = SpiceOpenSearchNode.class.getClassLoader();
        java.util.ArrayList<Class<? extends Plugin>> plugins = new java.util.ArrayList<>();
        for (String name : MODULE_PLUGINS) {
            plugins.add(Class.forName(name, true, loader).asSubclass(Plugin.class));
        }

        Node node = new EmbeddedNode(environment, plugins);
        CountDownLatch stopped = new CountDownLatch(1);
        // SIGTERM (scripts/services.sh down) closes the node cleanly, then lets main return.
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            try {
                node.close();
                node.awaitClose(30, TimeUnit.SECONDS);
            } catch (Exception e) {
                e.printStackTrace();
            } finally {
                stopped.countDown();
            }
        }, "spice-opensearch-shutdown"));

        node.start();
        // One node has nowhere to put replicas: without this every new index stays yellow.
        // It is a cluster setting (node settings do not reach index creation), set once up.
        node.client().admin().cluster().prepareUpdateSettings()
            .setPersistentSettings(Settings.builder().put("cluster.default_number_of_replicas", 0))
            .get();
        stopped.await();
    }
}
