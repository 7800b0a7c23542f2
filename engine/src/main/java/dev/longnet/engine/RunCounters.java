package dev.longnet.engine;

import dev.longnet.storage.CountersFile;
import dev.longnet.storage.ProcSelf;
import java.io.IOException;
import java.nio.file.Path;
import java.util.concurrent.locks.LockSupport;
import org.agrona.concurrent.status.AtomicCounter;

/**
 * The counters file of a run ({@code OUT.run/counters}) and the thread that samples the process into it: progress
 * lands through {@link #listener}, the sampler adds the heartbeat, resident memory and bytes read and written
 * every {@code sampleNanos}. {@link #close} stops the sampler for certain before it unmaps the file.
 */
final class RunCounters implements AutoCloseable {
    static final long SAMPLE_NANOS = 200_000_000L;

    private final CountersFile file;
    private final AtomicCounter tokensDone, tilesDone, unitsDone, level, pass, errors;
    private final AtomicCounter bytesRead, bytesWritten, residentMemory;
    private final Thread sampler;
    private volatile boolean stopping;
    private boolean closed;

    private RunCounters(CountersFile file, long sampleNanos) {
        this.file = file;
        tokensDone = file.counter(RunCounter.TOKENS_DONE.type());
        tilesDone = file.counter(RunCounter.TILES_DONE.type());
        unitsDone = file.counter(RunCounter.UNITS_DONE.type());
        level = file.counter(RunCounter.LEVEL.type());
        pass = file.counter(RunCounter.PASS.type());
        errors = file.counter(RunCounter.ERRORS.type());
        bytesRead = file.counter(RunCounter.BYTES_READ.type());
        bytesWritten = file.counter(RunCounter.BYTES_WRITTEN.type());
        residentMemory = file.counter(RunCounter.RESIDENT_MEMORY.type());
        sample();
        file.state(CountersFile.State.RUNNING);
        sampler = Thread.ofPlatform().daemon().name("longnet-counters").start(() -> {
            while (!stopping) {
                sample();
                LockSupport.parkNanos(sampleNanos);
            }
        });
    }

    /** Creates the counters file of a run of {@code tokens} tokens and {@code units} units, and starts sampling. */
    static RunCounters start(Path path, long tokens, long units, long unitsDone, long errors, long resumes,
                             long sampleNanos) throws IOException {
        CountersFile file = CountersFile.create(path, RunCounter.TYPES);
        file.counter(RunCounter.TOKENS_TOTAL.type()).setRelease(tokens);
        file.counter(RunCounter.UNITS_TOTAL.type()).setRelease(units);
        file.counter(RunCounter.UNITS_DONE.type()).setRelease(unitsDone);
        file.counter(RunCounter.ERRORS.type()).setRelease(errors);
        file.counter(RunCounter.RESUMES.type()).setRelease(resumes);
        return new RunCounters(file, sampleNanos);
    }

    /** Wraps a listener so that progress also lands in the counters; called on the thread that runs the units. */
    Progress.Listener listener(Progress.Listener downstream) {
        return p -> {
            tokensDone.setRelease(p.tokensDone());
            tilesDone.setRelease(p.tilesDone());
            unitsDone.setRelease(p.unitsDone());
            level.setRelease(p.level());
            pass.setRelease(p.pass());
            downstream.onProgress(p);
        };
    }

    void pass(int p) { pass.setRelease(p); }

    void done() { file.state(CountersFile.State.DONE); }

    void failed() {
        errors.getAndAddRelease(1);
        file.state(CountersFile.State.FAILED);
    }

    /** True while the sampler thread runs (tests). */
    boolean sampling() { return sampler.isAlive(); }

    private void sample() {
        file.heartbeat();
        residentMemory.setRelease(ProcSelf.rssBytes());
        bytesRead.setRelease(ProcSelf.storageReadBytes());
        bytesWritten.setRelease(ProcSelf.storageWriteBytes());
    }

    /**
     * Stops the sampler and waits until it has ended, however long that takes (a write into the unmapped file would
     * crash the JVM), then stamps the heartbeat and unmaps the file; it stays on disk with its last values.
     */
    @Override
    public void close() {
        if (closed) return;
        closed = true;
        stopping = true;
        boolean interrupted = false;
        while (sampler.isAlive()) {
            LockSupport.unpark(sampler);
            try {
                sampler.join();
            } catch (InterruptedException e) {
                interrupted = true;                 // keep waiting: unmapping under the sampler is not an option
            }
        }
        if (interrupted) Thread.currentThread().interrupt();
        file.heartbeat();
        file.close();
    }
}
