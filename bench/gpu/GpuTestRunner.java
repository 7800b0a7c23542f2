import static org.junit.platform.engine.discovery.DiscoverySelectors.selectClass;
import static org.junit.platform.engine.discovery.DiscoverySelectors.selectPackage;

import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.platform.engine.TestExecutionResult;
import org.junit.platform.engine.DiscoverySelector;
import org.junit.platform.launcher.Launcher;
import org.junit.platform.launcher.LauncherDiscoveryRequest;
import org.junit.platform.launcher.TestExecutionListener;
import org.junit.platform.launcher.TestIdentifier;
import org.junit.platform.launcher.core.LauncherDiscoveryRequestBuilder;
import org.junit.platform.launcher.core.LauncherFactory;
import org.junit.platform.launcher.listeners.SummaryGeneratingListener;

/**
 * Runs JUnit tests without Maven (the GPU machine has no Java toolchain besides the jlink'd runtime): each argument
 * is a package ("dev.longnet.engine.cuda") or a class ("dev.longnet.engine.cuda.CudaParityTest"). Prints one line
 * per test (with the reason of every skip and failure) and a summary; exits 1 if anything failed, 3 if nothing ran.
 * Compiled by bench/gpu/prepare-gpu-bundle.sh against junit-platform-launcher.
 */
public final class GpuTestRunner {
    public static void main(String[] args) {
        List<DiscoverySelector> selectors = new ArrayList<>();
        for (String a : args.length == 0 ? new String[]{"dev.longnet.engine.cuda"} : args) {
            boolean isClass = Character.isUpperCase(a.substring(a.lastIndexOf('.') + 1).charAt(0));
            selectors.add(isClass ? selectClass(a) : selectPackage(a));
        }
        LauncherDiscoveryRequest request = LauncherDiscoveryRequestBuilder.request().selectors(selectors).build();
        Launcher launcher = LauncherFactory.create();
        SummaryGeneratingListener summary = new SummaryGeneratingListener();
        AtomicInteger passed = new AtomicInteger(), aborted = new AtomicInteger(), failed = new AtomicInteger();
        TestExecutionListener lines = new TestExecutionListener() {
            @Override
            public void executionSkipped(TestIdentifier test, String reason) {
                if (test.isTest()) {
                    aborted.incrementAndGet();
                    System.out.println("SKIP  " + name(test) + " -- " + reason);
                }
            }

            @Override
            public void executionFinished(TestIdentifier test, TestExecutionResult result) {
                if (!test.isTest() && result.getStatus() == TestExecutionResult.Status.SUCCESSFUL) return;
                String why = result.getThrowable().map(t -> " -- " + t).orElse("");
                switch (result.getStatus()) {
                    case SUCCESSFUL -> { passed.incrementAndGet(); System.out.println("PASS  " + name(test)); }
                    case ABORTED -> { aborted.incrementAndGet(); System.out.println("SKIP  " + name(test) + why); }
                    case FAILED -> { failed.incrementAndGet(); System.out.println("FAIL  " + name(test) + why); }
                }
            }

            private String name(TestIdentifier test) {
                String id = test.getUniqueId();
                int cls = id.indexOf("[class:");
                String where = cls < 0 ? id : id.substring(cls + 7, id.indexOf(']', cls));
                return where.substring(where.lastIndexOf('.') + 1) + " " + test.getDisplayName();
            }
        };
        launcher.execute(request, summary, lines);
        PrintWriter out = new PrintWriter(System.out, true);
        summary.getSummary().printFailuresTo(out, 30);
        summary.getSummary().printTo(out);
        System.out.println("RESULT passed=" + passed + " skipped=" + aborted + " failed=" + failed);
        System.exit(failed.get() > 0 ? 1 : passed.get() == 0 ? 3 : 0);
    }
}
