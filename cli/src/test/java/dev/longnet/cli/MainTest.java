package dev.longnet.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class MainTest {
    static final String[] COMMANDS = {"gen", "attend", "stream", "member", "stat", "verify", "info", "convert", "demo", "completion"};

    @Test
    void versionNamesTheProject() {
        Cli.Run run = Cli.run("--version");
        assertEquals(0, run.code());
        assertTrue(run.out().matches("(?s)longnet \\d+\\.\\d+\\.\\d+(-SNAPSHOT)?\\R.*"), run.out());
        Cli.Run sub = Cli.run("attend", "--version");
        assertEquals(run.out(), sub.out());
    }

    @Test
    void everyCommandHasHelp() {
        Cli.Run top = Cli.run("--help");
        assertEquals(0, top.code());
        for (String command : COMMANDS) {
            assertTrue(top.out().contains("  " + command + " "), command + " in\n" + top.out());
            Cli.Run run = Cli.run(command, "--help");
            assertEquals(0, run.code(), command);
            assertTrue(run.out().startsWith("Usage: longnet " + command), run.out());
            assertTrue(run.out().contains("--quiet") && run.out().contains("--verbose"), run.out());
        }
        Cli.Run attend = Cli.run("attend", "--help");
        for (String flag : new String[]{"--q=Q.npy", "--segments=W", "--dilations=R", "--preset=NAME", "--causal",
                "--offsets=RULE", "--semantics=S", "--scale=S", "--threads=T", "--backend=B", "--out-dtype=TYPE", "--force", "--json",
                "--restart", "--check-finite", "--cluster=HOST[:PORT],...", "--cluster-name=NAME"}) {
            assertTrue(attend.out().contains(flag), flag);
        }
        assertTrue(attend.out().contains("bench, paper, pow2"), attend.out());
    }

    @Test
    void completionIsABashScript() {
        Cli.Run run = Cli.run("completion");
        assertEquals(0, run.code());
        assertTrue(run.out().startsWith("#!/usr/bin/env bash"), run.out().substring(0, 80));
        assertTrue(run.out().contains("complete -F _complete_longnet"), "registers the function");
        assertTrue(run.out().contains("--segments") && run.out().contains("torchscale"), "knows flags and values");
    }

    @Test
    void noOrUnknownCommandIsAUsageError() {
        Cli.Run none = Cli.run();
        assertEquals(2, none.code());
        assertTrue(none.oneErrorLine() && none.err().startsWith("longnet: a command is needed"), none.err());
        Cli.Run unknown = Cli.run("attnd");
        assertEquals(2, unknown.code());
        assertTrue(unknown.oneErrorLine() && unknown.err().startsWith("longnet: Unmatched argument"), unknown.err());
    }
}
