package dev.longnet.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.hazelcast.spi.exception.TargetDisconnectedException;
import org.junit.jupiter.api.Test;

/** A lost member is named without Hazelcast's dump of the connection; other failures keep their message. */
class MembersTest {
    @Test
    void aLostMemberIsNamedByTheExceptionsClassAlone() {
        assertEquals("was lost during the job (TargetDisconnectedException)", Members.whatHappened(
                new TargetDisconnectedException("Exception in ClientConnection{alive=true, connectionId=3, channel="
                        + "NioChannel{/127.0.0.1:47317->/127.0.0.1:37565}, remoteUuid=afceef4b}")));
        assertEquals("failed (IllegalStateException: disk full)", Members.whatHappened(new IllegalStateException("disk full")));
    }
}
