package dev.longnet.cluster;

import com.hazelcast.cluster.Member;
import java.util.Collection;

/** Member addresses as "host:port", the form users give and messages print. */
final class Members {
    private Members() { }

    static String address(Member member) {
        return member.getAddress().getHost() + ":" + member.getAddress().getPort();
    }

    static Member find(Collection<Member> members, String address) {
        for (Member m : members) if (address(m).equals(address)) return m;
        return null;
    }

    /** An exception from Hazelcast as a short phrase (its class names the cause: member left, target not member). */
    static String describe(Throwable e) {
        if (e == null) return "unknown error";
        String name = e.getClass().getSimpleName();
        return e.getMessage() != null ? name + ": " + e.getMessage() : name;
    }
}
