/**
 * The job layer: what every command that writes a file keeps, in one place. A command declares what it reads and
 * writes, and the layer gives it one run per output and per state directory, inputs that never collide with what
 * it writes, resumes that check what they resume, outputs that appear complete or not at all, and messages that
 * name the file and the way on.
 *
 * <h2>The API a command uses</h2>
 * <pre>{@code
 * try (Job job = Job.builder("longnet mycmd")
 *         .input(model).input(tokens)           // every file read: refused if it is an output, OUT.partial,
 *                                               //   or inside OUT.run/, OUT.state/, OUT.cluster/ or the state dir
 *         .output(out)                          // exists -> refused unless .force(true); locked as OUT.run/lock
 *         .state(stateDir)                      // optional: locked as STATE/lock; no input or output inside it
 *         .force(force).resumable(stateDir != null)
 *         .start()) {                           // checks, then takes the locks (a second run is refused)
 *     Identity id = Identity.of("longnet-mycmd 1").put("config", config).put("dtype", dtype)
 *             .file("model", model).file("tokens", tokens);      // size + sampled-contents fingerprint
 *     // fresh run: record id.fields(prefix) with the state (a snapshot header, a properties file);
 *     // resume:    id.requireSame(stateDir, recordedFields, prefix)  -> JobConflictException naming what changed
 *     MemoryBudget.requireNative(bytes, "the stream's state", "map it on disk with --state DIR");
 *     ... write Job.partial(out) (or AtomicFile.write(out, channel -> ...) for a small file) ...
 *     job.commit(out);                          // force + atomic rename + directory force
 *     job.completed();                          // closing then removes an emptied state directory
 * } catch (IOException e) { throw job.failure(e, file); }  // "disk full while writing F; ... run the same command to resume"
 * }</pre>
 * A command whose resumable state is its own (attend's run directory) takes just the line:
 * {@code try (Job.InterruptLine _ = Job.onInterrupt(() -> "longnet x: interrupted; ...")) { ... }}.
 * Closing the job releases its locks and removes the lock files. If the JVM is stopped (Ctrl-C, SIGTERM) while
 * the job is open, one line says what is kept and how to go on; a job that is not resumable removes its
 * {@code OUT.partial} files first.
 *
 * <p>Pieces that know nothing of commands live in storage: {@link dev.longnet.storage.AtomicFile} (the one
 * write-{@code .partial}-then-rename), {@link dev.longnet.storage.Disk#deleteTree}, {@link
 * dev.longnet.storage.FileFingerprint}, the CRC'd {@link dev.longnet.storage.RunJournal} and
 * {@link dev.longnet.storage.SnapshotFile}. attend's resumable run ({@code dev.longnet.engine.RunDirectory}) is
 * built on the same lock ({@link dev.longnet.engine.job.JobLock} on {@code OUT.run/lock}) and output checks.
 */
package dev.longnet.engine.job;
