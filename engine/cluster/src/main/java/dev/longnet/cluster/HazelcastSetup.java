package dev.longnet.cluster;

import com.hazelcast.client.config.ClientConfig;
import com.hazelcast.config.ClassFilter;
import com.hazelcast.config.Config;
import com.hazelcast.config.JavaSerializationFilterConfig;
import com.hazelcast.config.JoinConfig;
import com.hazelcast.config.NetworkConfig;
import com.hazelcast.config.SerializationConfig;
import java.util.Arrays;
import java.util.concurrent.ConcurrentHashMap;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * Hazelcast configured explicitly and narrowly: a cluster name, no phone-home, no multicast or auto-detection, TCP-IP
 * join with the given members only, one interface and one port (no auto-increment), and Java deserialization limited
 * to our task and reply classes. Community Hazelcast has no TLS and no authentication: the network must be private.
 */
public final class HazelcastSetup {
    /**
     * Hazelcast's root logger, held here: java.util.logging keeps loggers only weakly, and a logger collected
     * after its level was set would come back with the default level (and print Hazelcast's log again).
     */
    private static final Logger HAZELCAST_LOG = Logger.getLogger("com.hazelcast");

    /** How long a client tries to reach the cluster, in ms (15 s unless set; tests shorten it). */
    public static final String CONNECT_MILLIS_PROPERTY = "longnet.cluster.connectMillis";

    private HazelcastSetup() { }

    /** The configuration of an embedded member that serves jobs on files under {@code context.dataDir()}. */
    public static Config member(ClusterSettings settings, MemberContext context) {
        quietLogs();
        Config config = new Config();
        config.setClusterName(settings.clusterName());
        config.setInstanceName("longnet-" + settings.self());
        common(config);
        NetworkConfig network = config.getNetworkConfig();
        network.setPort(settings.port()).setPortAutoIncrement(false).setPortCount(1);
        network.getInterfaces().setEnabled(true).setInterfaces(java.util.List.of(settings.bind()));
        network.getRestApiConfig().setEnabled(false);
        network.getMemcacheProtocolConfig().setEnabled(false);
        JoinConfig join = network.getJoin();
        join.getMulticastConfig().setEnabled(false);
        join.getAutoDetectionConfig().setEnabled(false);
        join.getTcpIpConfig().setEnabled(true).setConnectionTimeoutSeconds(2).setMembers(settings.members());
        config.getJetConfig().setEnabled(false);
        config.getExecutorConfig(Tasks.JOBS).setPoolSize(4);
        config.getExecutorConfig(Tasks.SLICES).setPoolSize(8);
        allowlist(config.getSerializationConfig());
        ConcurrentHashMap<String, Object> user = new ConcurrentHashMap<>();
        user.put(MemberContext.KEY, context);
        config.setUserContext(user);
        return config;
    }

    /** The configuration of a client that submits jobs to the members at {@code addresses}. */
    public static ClientConfig client(String clusterName, java.util.List<String> addresses) {
        // A client's failures come back as exceptions, said in one line by the command: Hazelcast's own log
        // (warnings with stack traces on every failed connection) would only repeat them.
        HAZELCAST_LOG.setLevel(Level.OFF);
        ClientConfig config = new ClientConfig();
        config.setClusterName(clusterName);
        config.setProperty("hazelcast.phone.home.enabled", "false");
        config.setProperty("hazelcast.logging.type", "jdk");
        config.getNetworkConfig().setAddresses(new java.util.ArrayList<>(addresses));
        config.getConnectionStrategyConfig().getConnectionRetryConfig().setClusterConnectTimeoutMillis(
                Long.getLong(CONNECT_MILLIS_PROPERTY, 15_000));
        allowlist(config.getSerializationConfig());
        return config;
    }

    private static void common(Config config) {
        config.setProperty("hazelcast.phone.home.enabled", "false");
        config.setProperty("hazelcast.logging.type", "jdk");
        // Bind the named interface only, never every interface.
        config.setProperty("hazelcast.socket.bind.any", "false");
        config.setProperty("hazelcast.socket.server.bind.any", "false");
        config.setProperty("hazelcast.socket.client.bind.any", "false");
        // Join fast (no 5 s wait for others) and notice a lost member within seconds.
        config.setProperty("hazelcast.wait.seconds.before.join", "1");
        config.setProperty("hazelcast.max.wait.seconds.before.join", "2");
        config.setProperty("hazelcast.heartbeat.interval.seconds", "1");
        config.setProperty("hazelcast.max.no.heartbeat.seconds", "8");
        config.setProperty("hazelcast.shutdownhook.policy", "GRACEFUL");
    }

    /**
     * Java deserialization of our own classes, Hazelcast's exceptions and the few JDK classes an error carries;
     * Hazelcast's defaults (any class whose name starts with "java") off.
     */
    private static void allowlist(SerializationConfig serialization) {
        ClassFilter allowed = new ClassFilter();
        allowed.addClasses(Arrays.stream(Tasks.ALLOWED).map(Class::getName).toArray(String[]::new));
        allowed.addClasses(Tasks.ALLOWED_OTHERS);
        allowed.addPrefixes(Tasks.ALLOWED_PREFIX);
        serialization.setJavaSerializationFilterConfig(new JavaSerializationFilterConfig()
                .setDefaultsDisabled(true).setWhitelist(allowed));
    }

    /**
     * Hazelcast logs through java.util.logging: warnings and errors only, each as one line on stderr (its message
     * and its cause's, never a stack trace).
     */
    private static void quietLogs() {
        Logger logger = HAZELCAST_LOG;
        logger.setLevel(Level.WARNING);
        logger.setUseParentHandlers(false);
        for (java.util.logging.Handler h : logger.getHandlers()) logger.removeHandler(h);
        java.util.logging.ConsoleHandler handler = new java.util.logging.ConsoleHandler();
        handler.setLevel(Level.WARNING);
        handler.setFormatter(new java.util.logging.Formatter() {
            @Override
            public String format(java.util.logging.LogRecord r) {
                StringBuilder line = new StringBuilder("longnet member: hazelcast ").append(r.getLevel().getName()
                        .toLowerCase(java.util.Locale.ROOT)).append(": ").append(formatMessage(r));
                for (Throwable t = r.getThrown(); t != null; t = t.getCause()) {
                    line.append(" (").append(t.getClass().getSimpleName()).append(": ").append(t.getMessage()).append(')');
                }
                return line.toString().replaceAll("\\s*\\R\\s*", "; ") + System.lineSeparator();
            }
        });
        logger.addHandler(handler);
    }
}
