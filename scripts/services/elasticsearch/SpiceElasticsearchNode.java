package org.elasticsearch.node;

import java.io.IOException;
import java.io.InputStream;
import java.lang.reflect.Constructor;
import java.lang.reflect.Method;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.jar.JarEntry;
import java.util.jar.JarFile;

import org.elasticsearch.action.admin.cluster.node.info.PluginsAndModules;
import org.elasticsearch.common.logging.LogConfigurator;
import org.elasticsearch.common.settings.Settings;
import org.elasticsearch.env.Environment;
import org.elasticsearch.plugins.Plugin;
import org.elasticsearch.plugins.PluginDescriptor;
import org.elasticsearch.plugins.PluginsLoader;
import org.elasticsearch.plugins.PluginsService;

/**
 * One Elasticsearch 9 node in one JVM, for tests on loopback.
 *
 * <p>The distribution's tarball is not on any package registry, but the server jar and the
 * transport-netty4 module are on Maven Central. A real node loads its modules from a
 * modules/ folder into module layers; this one loads them from the classpath instead, the
 * way Elasticsearch's own test framework does it (MockNode, MockPluginsService). That needs
 * package-private parts of the server (Node(NodeConstruction), NodeServiceProvider,
 * PluginsService.LoadedPlugin), hence this class lives in org.elasticsearch.node; on the
 * classpath the server and this class share one unnamed module, so this is plain Java.
 *
 * <p>No x-pack (no security, no license), no entitlements, no bootstrap checks (the node
 * binds 127.0.0.1 only): a throwaway node for tests.
 *
 * <p>Usage: java -cp 'lib/*:classes' org.elasticsearch.node.SpiceElasticsearchNode HOME
 * HTTP_PORT TRANSPORT_PORT, where HOME holds config/ (with log4j2.properties), data/, logs/.
 */
public final class SpiceElasticsearchNode {

    /**
     * The module plugins loaded from the classpath. Only transport-netty4 of the
     * distribution's modules is on Maven Central. (A plugin that extends another, an
     * ExtensiblePlugin's extension, would also need PluginsService.loadExtensions.)
     */
    private static final List<String> MODULE_PLUGINS = List.of(
        "org.elasticsearch.transport.netty4.Netty4Plugin"   // HTTP + transport
    );

    /** A PluginsService of the given classpath plugins instead of a modules/ folder. */
    private static final class ClasspathPluginsService extends PluginsService {
        @SuppressWarnings("rawtypes")
        private final List loaded;
        private final List<PluginDescriptor> descriptors;

        ClasspathPluginsService(Environment environment, List<Class<? extends Plugin>> classes) {
            super(environment.settings(), environment.configDir(),
                PluginsLoader.createPluginsLoader(Collections.emptySet(), Collections.emptySet(), Collections.emptyMap(), false));
            this.descriptors = new ArrayList<>();
            this.loaded = load(environment, classes, descriptors);
        }

        @SuppressWarnings({"rawtypes", "unchecked"})
        private static List load(Environment environment, List<Class<? extends Plugin>> classes,
                                 List<PluginDescriptor> descriptors) {
            try {
                // PluginsService.loadPlugin(Class, Settings, Path) and the LoadedPlugin record
                // are package-private in org.elasticsearch.plugins: reach them reflectively.
                Method loadPlugin = PluginsService.class.getDeclaredMethod(
                    "loadPlugin", Class.class, Settings.class, Path.class);
                loadPlugin.setAccessible(true);
                Class<?> record = Class.forName(PluginsService.class.getName() + "$LoadedPlugin");
                Constructor<?> newLoaded = record.getDeclaredConstructor(
                    PluginDescriptor.class, Plugin.class, ClassLoader.class);
                newLoaded.setAccessible(true);
                List result = new ArrayList();
                for (Class<? extends Plugin> pluginClass : classes) {
                    PluginDescriptor descriptor = descriptorOf(pluginClass);
                    Plugin plugin = (Plugin) loadPlugin.invoke(
                        null, pluginClass, environment.settings(), environment.configDir());
                    descriptors.add(descriptor);
                    result.add(newLoaded.newInstance(descriptor, plugin, pluginClass.getClassLoader()));
                }
                return Collections.unmodifiableList(result);
            } catch (ReflectiveOperationException e) {
                throw new IllegalStateException("cannot load the classpath plugins", e);
            }
        }

        /** The descriptor that the plugin's own jar carries (META-INF/es-plugins/NAME/...). */
        private static PluginDescriptor descriptorOf(Class<? extends Plugin> pluginClass) {
            try {
                Path jarPath = Path.of(pluginClass.getProtectionDomain().getCodeSource().getLocation().toURI());
                try (JarFile jar = new JarFile(jarPath.toFile())) {
                    for (JarEntry entry : Collections.list(jar.entries())) {
                        String name = entry.getName();
                        if (!name.startsWith("META-INF/es-plugins/")
                                || !name.endsWith("/" + PluginDescriptor.INTERNAL_DESCRIPTOR_FILENAME)) {
                            continue;
                        }
                        try (InputStream in = jar.getInputStream(entry)) {
                            PluginDescriptor descriptor = PluginDescriptor.readInternalDescriptorFromStream(in);
                            if (descriptor.getClassname().equals(pluginClass.getName())) {
                                return descriptor;
                            }
                        }
                    }
                }
            } catch (IOException | java.net.URISyntaxException e) {
                throw new IllegalStateException("cannot read the descriptor of " + pluginClass.getName(), e);
            }
            throw new IllegalStateException("no plugin descriptor in the jar of " + pluginClass.getName());
        }

        @Override
        @SuppressWarnings({"rawtypes", "unchecked"})
        protected List plugins() {
            return loaded;
        }

        @Override
        public PluginsAndModules info() {
            // reported as modules, as the distribution reports transport-netty4
            return new PluginsAndModules(List.of(), List.copyOf(descriptors));
        }
    }

    /** Node's services as usual, but the plugins of ClasspathPluginsService. */
    private static final class ServiceProvider extends NodeServiceProvider {
        private final List<Class<? extends Plugin>> classes;

        ServiceProvider(List<Class<? extends Plugin>> classes) {
            this.classes = classes;
        }

        @Override
        PluginsService newPluginService(Environment environment, PluginsLoader pluginsLoader) {
            return new ClasspathPluginsService(environment, classes);
        }
    }

    public static void main(String[] args) throws Exception {
        if (args.length != 3) {
            System.err.println("usage: SpiceElasticsearchNode HOME HTTP_PORT TRANSPORT_PORT");
            System.exit(2);
        }
        Path home = Path.of(args[0]).toAbsolutePath();
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
        LogConfigurator.setClusterName("spice-test");
        LogConfigurator.configure(environment, false);

        ClassLoader loader = SpiceElasticsearchNode.class.getClassLoader();
        List<Class<? extends Plugin>> plugins = new ArrayList<>();
        for (String name : MODULE_PLUGINS) {
            plugins.add(Class.forName(name, true, loader).asSubclass(Plugin.class));
        }

        Node node = new Node(NodeConstruction.prepareConstruction(
            environment, null, new ServiceProvider(plugins), true)) {
            @Override
            protected void validateNodeBeforeAcceptingRequests(
                    org.elasticsearch.bootstrap.BootstrapContext context,
                    org.elasticsearch.common.transport.BoundTransportAddress boundTransportAddress,
                    List<org.elasticsearch.bootstrap.BootstrapCheck> checks) {
                // loopback test node: no production bootstrap checks (heap size, mmap count, ...)
            }
        };
        CountDownLatch stopped = new CountDownLatch(1);
        // SIGTERM (scripts/services.sh down) closes the node cleanly, then lets main return.
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            try {
                node.prepareForClose();
                node.close();
                node.awaitClose(30, TimeUnit.SECONDS);
            } catch (Exception e) {
                e.printStackTrace();
            } finally {
                stopped.countDown();
            }
        }, "spice-elasticsearch-shutdown"));

        node.start();
        stopped.await();
    }
}
