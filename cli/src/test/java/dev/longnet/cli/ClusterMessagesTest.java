package dev.longnet.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.net.ServerSocket;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** No stack trace reaches the user from Hazelcast (issue 21, defect 12). */
class ClusterMessagesTest {
    @TempDir
    Path tmp;

    @Test
    void anUnreachableClusterIsOneLineAndHazelcastStaysQuiet() throws Exception {
        int port;
        try (ServerSocket s = new ServerSocket(0)) {
            port = s.getLocalPort();
        }
        PrintStream err = System.err;
        ByteArrayOutputStream captured = new ByteArrayOutputStream();
        System.setProperty("longnet.cluster.connectMillis", "1500");
        System.setErr(new PrintStream(captured, true));
        Cli.Run run;
        try {
            run = Cli.run("attend", "--q", "q.npy", "--k", "k.npy", "--v", "v.npy", "--out", tmp.resolve("o.npy").toString(),
                    "--segments", "8", "--dilations", "1", "--cluster", "127.0.0.1:" + port, "--cluster-name", "wrong");
        } finally {
            System.setErr(err);
            System.clearProperty("longnet.cluster.connectMillis");
        }
        assertEquals(1, run.code(), run.toString());
        assertTrue(run.oneErrorLine() && run.err().contains("cannot reach cluster"), run.toString());
        String logged = captured.toString();
        assertFalse(logged.contains("\tat ") || logged.contains("com.hazelcast"), logged);
    }

    @Test
    void aMemberOnABusyPortIsOneLine() throws Exception {
        try (ServerSocket busy = new ServerSocket(0, 1, java.net.InetAddress.getByName("127.0.0.1"))) {
            int port = busy.getLocalPort();
            PrintStream err = System.err;
            ByteArrayOutputStream captured = new ByteArrayOutputStream();
            System.setErr(new PrintStream(captured, true));
            Cli.Run run;
            try {
                run = Cli.run("member", "--bind", "127.0.0.1", "--port", "" + port, "--join", "127.0.0.1:" + port,
                        "--data", tmp.toString(), "--cluster-name", "busy-test");
            } finally {
                System.setErr(err);
            }
            assertEquals(1, run.code(), run.toString());
            assertTrue(run.oneErrorLine(), run.toString());
            String logged = captured.toString();
            assertFalse(logged.contains("\tat "), logged);
            assertTrue(logged.lines().count() <= 3, logged);
        }
    }
}
