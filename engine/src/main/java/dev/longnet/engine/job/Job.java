package dev.longnet.engine.job;

import dev.longnet.storage.AtomicFile;
import dev.longnet.storage.Disk;
import java.io.IOException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * One run of a command that writes files, from its checks to its commit (see the package documentation for how a
 * command uses it). {@link Builder#start()} checks every output (a regular file or nothing; an existing one only
 * with --force), refuses every collision between an input and what the job writes (with or without --force), and
 * takes one lock per output and per state directory. {@link #commit} makes an output appear under its name;
 * {@link #close} releases the locks and removes the lock files. While the job runs, an interrupt (Ctrl-C, SIGTERM)
 * prints one line saying what is kept and how to go on.
 */
public final class Job implements AutoCloseable {
    /** The directory beside an output that holds its lock (and attend's run): {@code OUT.run}. */
    public static final String RUN_SUFFIX = ".run";
    /** The lock file inside a state or run directory. */
    public static final String LOCK = "lock";

    private final String command;
    private final List<Path> outputs;
    private final Path state;
    private final boolean resumable;
    private final List<JobLock> locks;
    private final Thread interruptHook;
    private volatile boolean done;
    private boolean completed;

    private Job(Builder b, List<JobLock> locks) {
        this.command = b.command;
        this.outputs = List.copyOf(b.outputs);
        this.state = b.state;
        this.resumable = b.resumable;
        this.locks = locks;
        this.interruptHook = new Thread(this::interrupted, "longnet-interrupt");
        Runtime.getRuntime().addShutdownHook(interruptHook);
    }

    /** A job of {@code command} (its name in messages, e.g. "longnet stream"). */
    public static Builder builder(String command) { return new Builder(command); }

    /** What a job reads and writes, declared before it starts. */
    public static final class Builder {
        private final String command;
        private final List<Path> inputs = new ArrayList<>();
        private final List<Path> outputs = new ArrayList<>();
        private final List<Path> work = new ArrayList<>();
        private Path state;
        private boolean force;
        private boolean resumable;

        private Builder(String command) { this.command = command; }

        /** An input file the job reads (null, "-" or standard input: skipped). */
        public Builder input(Path file) {
            if (file != null && !file.toString().equals("-")) inputs.add(file);
            return this;
        }

        /** An output file, written as {@code OUT.partial} and committed; locked as {@code OUT.run/lock}. */
        public Builder output(Path file) {
            if (file != null) outputs.add(file);
            return this;
        }

        /** Another directory the job writes into (scratch): no input may lie inside it. */
        public Builder workDirectory(Path dir) {
            if (dir != null) work.add(dir);
            return this;
        }

        /** The state directory: locked as {@code STATE/lock}; no input or output may lie inside it. */
        public Builder state(Path dir) {
            this.state = dir;
            return this;
        }

        /** Whether an existing output may be replaced (--force). Collisions are refused either way. */
        public Builder force(boolean f) {
            this.force = f;
            return this;
        }

        /** Whether an interrupted run keeps its partial outputs and state for a resume (else they are removed). */
        public Builder resumable(boolean r) {
            this.resumable = r;
            return this;
        }

        /** Checks outputs and collisions, takes the locks; the job then runs until {@link Job#close()}. */
        public Job start() throws IOException {
            checkCollisions();
            for (Path out : outputs) checkOutput(out, force);
            List<JobLock> locks = new ArrayList<>();
            try {
                for (Path out : outputs) locks.add(JobLock.acquire(runDirectory(out).resolve(LOCK), out));
                if (state != null) {
                    if (Files.exists(state) && !Files.isDirectory(state)) {
                        throw new FileAlreadyExistsException(state.toString(), null, "is not a directory; the state"
                                + " must be a directory");
                    }
                    locks.add(JobLock.acquire(state.resolve(LOCK), state));
                }
                return new Job(this, locks);
            } catch (IOException | RuntimeException e) {
                for (JobLock l : locks) release(l);
                throw e;
            }
        }

        private void checkCollisions() throws IOException {
            requireNoCollision(inputs, outputs, state, work, force);
        }
    }

    /**
     * Refuses (with or without --force) an input that is an output, its {@code .partial}, or inside its run
     * ({@code OUT.run/}), state ({@code OUT.state/}) or cluster ({@code OUT.cluster/}) directory, or inside
     * {@code state} or a {@code work} directory; an output inside {@code state}; and one output given twice. Links
     * are followed: a link to the output is the output.
     */
    public static void requireNoCollision(List<Path> inputs, List<Path> outputs, Path state, List<Path> work,
                                      boolean force) throws IOException {
        Set<Path> seen = new LinkedHashSet<>();
        for (Path out : outputs) {
            Path real = real(out);
            if (!seen.add(real)) throw new IllegalArgumentException(out + " is given as two outputs");
            if (state != null && real.startsWith(real(state))) {
                throw new IllegalArgumentException("the output " + out + " is inside the state directory " + state
                        + ", which the run writes and clears: give the output another place");
            }
        }
        for (Path in : inputs) {
            if (!Files.exists(in)) continue;                   // opening it says it is missing
            Path file = in.toRealPath();
            for (Path out : outputs) {
                Path real = real(out);
                if (file.equals(real) || file.equals(AtomicFile.partial(real)) || file.startsWith(runDirectory(real))
                        || file.startsWith(real.resolveSibling(real.getFileName() + ".cluster"))
                        || file.startsWith(real.resolveSibling(real.getFileName() + ".state"))) {
                    throw new IllegalArgumentException(in + " is the output " + out + " or one of its working files"
                            + " (OUT.partial, OUT.run/, OUT.state/, OUT.cluster/); the run would overwrite it" + (force ? ", and"
                            + " forcing does not allow that" : "") + ": give the output another name");
                }
            }
            List<Path> dirs = new ArrayList<>(work);
            if (state != null) dirs.add(state);
            for (Path dir : dirs) {
                if (file.startsWith(real(dir))) {
                    throw new IllegalArgumentException(in + " is inside " + dir + ", which the run writes and"
                            + " clears: move the input elsewhere");
                }
            }
        }
    }

    /** A line printed if the JVM is stopped (Ctrl-C, SIGTERM) before it is closed. */
    public static final class InterruptLine implements AutoCloseable {
        private final Thread hook;
        private volatile boolean closed;

        private InterruptLine(java.util.function.Supplier<String> line) {
            hook = new Thread(() -> {
                if (closed) return;
                System.err.println(line.get());
                System.err.flush();
            }, "longnet-interrupt");
            Runtime.getRuntime().addShutdownHook(hook);
        }

        @Override
        public void close() {
            closed = true;
            try {
                Runtime.getRuntime().removeShutdownHook(hook);
            } catch (IllegalStateException e) {
                // already going down: the hook runs, and sees closed
            }
        }
    }

    /**
     * For a command whose resumable state is its own (attend's run directory): {@code line} (asked for when the
     * JVM goes down, so that it can say what is on disk then) is printed if the JVM is stopped before closing.
     */
    public static InterruptLine onInterrupt(java.util.function.Supplier<String> line) { return new InterruptLine(line); }

    /** The directory beside an output that holds its lock: {@code OUT.run}. */
    public static Path runDirectory(Path out) { return out.resolveSibling(out.getFileName() + RUN_SUFFIX); }

    /** Where an output is written until it is committed: {@code OUT.partial}. */
    public static Path partial(Path out) { return AtomicFile.partial(out); }

    /**
     * Refuses an output that is a directory, a device or anything but a regular file, or that exists already unless
     * {@code overwrite}.
     */
    public static void checkOutput(Path out, boolean overwrite) throws IOException {
        if (out.getFileName() == null || out.toString().isEmpty()) {
            throw new IllegalArgumentException("the output path is empty");
        }
        if (Files.isDirectory(out)) {
            throw new FileAlreadyExistsException(out.toString(), null, "is a directory; the output must be a file");
        }
        if (Files.exists(out, LinkOption.NOFOLLOW_LINKS) && !Files.isRegularFile(out)) {
            throw new FileAlreadyExistsException(out.toString(), null, "exists and is not a regular file (a device,"
                    + " a pipe or a dangling link); the output must be a regular file, and nothing else is ever"
                    + " replaced");
        }
        if (Files.exists(out) && !overwrite) {
            throw new OutputExistsException(out);
        }
    }

    /** Forces {@code OUT.partial} and renames it to {@code out}: the output appears complete or not at all. */
    public void commit(Path out) throws IOException {
        AtomicFile.commit(partial(out), out);
    }

    /**
     * The failure of a write, said so that it names the file and the way on: a full disk becomes "disk full while
     * writing FILE; free space, then run the same command to resume" (or "to start again" for a job that keeps
     * nothing). Other failures are returned as they are.
     */
    public IOException failure(IOException e, Path file) {
        String text = e.getMessage();
        if (text == null || !text.contains("No space left on device") || text.contains("disk full")) return e;
        return new IOException("disk full while writing " + file + " (" + text + "); free space, then "
                + howToGoOn(), e);
    }

    /** What a person does after this job stopped: resume it, or run it again. */
    public String howToGoOn() {
        if (resumable) {
            return "run the same command to resume" + (state != null ? " from " + state : "") + " (--restart starts over)";
        }
        return "run the same command to start again";
    }

    /** Runs when the JVM goes down (Ctrl-C, SIGTERM) before the job is closed: one line on what is kept. */
    private void interrupted() {
        if (done) return;
        if (!resumable) {
            for (Path out : outputs) {
                try {
                    Files.deleteIfExists(partial(out));
                } catch (IOException e) {
                    // best effort while the JVM goes down
                }
            }
        }
        for (JobLock l : locks) release(l);
        StringBuilder line = new StringBuilder(command).append(": interrupted; ");
        if (resumable) {
            line.append("the partial output").append(state != null ? " and the state in " + state : "")
                    .append(" are kept: ");
        } else {
            line.append("nothing was written under ").append(outputs.isEmpty() ? "the output" : outputs.getFirst())
                    .append(": ");
        }
        System.err.println(line.append(howToGoOn()));
        System.err.flush();
    }

    /**
     * Marks the job complete (its outputs committed, its state cleared): closing it then also removes the state
     * directory if nothing else is in it.
     */
    public void completed() { completed = true; }

    /**
     * Releases the locks and removes their files (and the lock directories left empty; the state directory too
     * once the job is {@link #completed()} and it is empty).
     */
    @Override
    public void close() {
        if (done) return;
        done = true;
        try {
            Runtime.getRuntime().removeShutdownHook(interruptHook);
        } catch (IllegalStateException e) {
            // already going down: the hook runs, and sees done
        }
        for (JobLock l : locks) release(l);
        if (completed && state != null) {
            try {
                Files.deleteIfExists(state);
            } catch (IOException e) {
                // not empty: the user's own files stay
            }
        }
    }

    /** Removes a lock's file (and its directory when nothing else is in it, as after attend's run), then releases. */
    private static void release(JobLock lock) {
        lock.deleteAndClose();
        Path dir = lock.file().getParent();
        if (dir != null && dir.getFileName().toString().endsWith(RUN_SUFFIX)) {
            try {
                Files.deleteIfExists(dir);
            } catch (IOException e) {
                // not empty: another run's (or attend's resumable run's) files are in it
            }
        }
    }

    /** The real path of a file that may not exist yet: its directory's real path, then its name. */
    public static Path real(Path file) throws IOException {
        if (Files.exists(file)) return file.toRealPath();
        Path abs = file.toAbsolutePath().normalize();
        Path parent = abs.getParent();
        if (parent == null) return abs;
        return real(parent).resolve(abs.getFileName());
    }

    /** Removes {@code dir} and everything in it: {@link Disk#deleteTree}. */
    public static void deleteTree(Path dir) throws IOException { Disk.deleteTree(dir); }
}
