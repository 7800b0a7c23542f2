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

    /** True when the exception says the member went away (left, crashed, or its connection closed). */
    static boolean lost(Throwable e) {
        return e instanceof com.hazelcast.core.MemberLeftException
                || e instanceof com.hazelcast.spi.exception.TargetDisconnectedException
                || e instanceof com.hazelcast.spi.exception.TargetNotMemberException
                || e instanceof com.hazelcast.core.HazelcastInstanceNotActiveException;
    }

    /**
     * What a member's failed task says of it: "was lost during the job (MemberLeftException)" when it went away,
     * named by the exception's class alone (the message of a lost connection is Hazelcast's dump of it: addresses,
     * uuids, times), else "failed (...)" with the exception's message.
     */
    static String whatHappened(Throwable e) {
        return lost(e) ? "was lost during the job (" + e.getClass().getSimpleName() + ")" : "failed (" + describe(e) + ")";
    }

    /** An exception from Hazelcast as a short phrase (its class names the cause: member left, target not member). */
    static String describe(Throwable e) {
        if (e == null) return "unknown error";
        String name = e.getClass().getSimpleName();
        return e.getMessage() != null ? name + ": " + e.getMessage() : name;
    }
}
