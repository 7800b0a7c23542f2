package dev.longnet.cli;

import dev.longnet.cluster.ClusterSettings;
import dev.longnet.cluster.LongnetMember;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** longnet member: a cluster member (Hazelcast member and engine) serving attend --cluster jobs. */
@Command(name = "member", description = {
        "Runs a cluster member that computes its share of 'attend --cluster' jobs.",
        "It joins the members listed with --join and reads and writes files under --data. Prints one line containing "
                + "'ready' once joined; stops cleanly on SIGTERM.",
        "Hazelcast Community has no TLS and no authentication, and members run the tasks sent to them: use a private "
                + "network. See docs/DISTRIBUTED.md."})
final class MemberCommand extends BaseCommand {
    @Option(names = "--join", paramLabel = "HOST[:PORT],...", description = "The cluster's members (this one may be "
            + "among them); default: this member alone.")
    String join;

    @Option(names = "--bind", paramLabel = "IP", defaultValue = "127.0.0.1",
            description = "The one interface to listen on (default: ${DEFAULT-VALUE}).")
    String bind;

    @Option(names = "--port", paramLabel = "PORT", defaultValue = "5701", description = "The port (default: ${DEFAULT-VALUE}).")
    int port;

    @Option(names = "--data", paramLabel = "DIR", defaultValue = ".",
            description = "The directory every job path is resolved under (default: the current directory).")
    Path data;

    @Option(names = "--cluster-name", paramLabel = "NAME", defaultValue = ClusterSettings.DEFAULT_NAME,
            description = "The cluster's name; members with another name are not admitted (default: ${DEFAULT-VALUE}).")
    String clusterName;

    @Option(names = "--any-interface", description = "Allow --bind 0.0.0.0 (every interface).")
    boolean anyInterface;

    @Override
    protected int execute() throws Exception {
        ClusterSettings settings;
        try {
            List<String> members = new ArrayList<>(join != null ? ClusterSettings.addresses(join) : List.of());
            settings = new ClusterSettings(clusterName, bind, port, members, anyInterface);
            if (!members.contains(settings.self())) members.add(settings.self());
            settings = new ClusterSettings(clusterName, bind, port, members, anyInterface);
        } catch (IllegalArgumentException e) {
            throw usage(e.getMessage());
        }
        LongnetMember member;
        try {
            member = LongnetMember.start(settings, data, System.err);
        } catch (IllegalArgumentException e) {
            throw new Failure("--data: " + e.getMessage());
        }
        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            member.close();
            err().println("longnet member: stopped");
            err().flush();
            stopped.countDown();
        }, "longnet-member-stop"));
        result(member.readyLine());
        stopped.await();
        return 0;
    }
}
