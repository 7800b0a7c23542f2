package dev.longnet.cluster;

import java.util.ArrayList;
import java.util.List;

/**
 * How a member joins and what a client connects to: the cluster name, the interface and port this member binds,
 * and the member addresses ("host:port", no ranges: Hazelcast 5.7 rejects "host:5701-5720").
 *
 * @param bind           the one interface to bind; 0.0.0.0 (all interfaces) only with {@code allowWildcard}
 * @param members        every member's address, this one's included or not
 */
public record ClusterSettings(String clusterName, String bind, int port, List<String> members, boolean allowWildcard) {
    public static final int DEFAULT_PORT = 5701;
    public static final String DEFAULT_NAME = "longnet";

    public ClusterSettings {
        if (clusterName == null || clusterName.isBlank()) throw new IllegalArgumentException("a cluster name is needed");
        if (bind == null || bind.isBlank()) bind = "127.0.0.1";
        if (!allowWildcard && (bind.equals("0.0.0.0") || bind.equals("::") || bind.equals("*"))) {
            throw new IllegalArgumentException("refusing to bind " + bind + " (every interface): a member runs tasks sent"
                    + " to it, so name the private interface to use, or allow it explicitly");
        }
        if (port < 1 || port > 65535) throw new IllegalArgumentException("port must be 1..65535, got " + port);
        members = List.copyOf(members);
    }

    /** "host[:port],host[:port]" as addresses with the default port where none is given. */
    public static List<String> addresses(String list) {
        List<String> out = new ArrayList<>();
        for (String item : list.split(",")) {
            String s = item.strip();
            if (s.isEmpty()) continue;
            out.add(address(s));
        }
        if (out.isEmpty()) throw new IllegalArgumentException("no member address in '" + list + "'");
        return List.copyOf(out);
    }

    /** One "host[:port]" as "host:port"; a port range is refused. */
    public static String address(String text) {
        int colon = text.lastIndexOf(':');
        if (colon < 0 || text.startsWith("[") && text.endsWith("]")) return text + ":" + DEFAULT_PORT;
        String host = text.substring(0, colon);
        String port = text.substring(colon + 1);
        if (port.contains("-")) {
            throw new IllegalArgumentException("'" + text + "': give each member's host:port, not a port range");
        }
        try {
            int p = Integer.parseInt(port);
            if (p < 1 || p > 65535) throw new NumberFormatException();
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("'" + text + "': the port must be a number 1..65535");
        }
        if (host.isEmpty()) throw new IllegalArgumentException("'" + text + "': the host is missing");
        return host + ":" + port;
    }

    /** This member's own address. */
    public String self() { return bind + ":" + port; }
}
