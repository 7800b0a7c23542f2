package dev.longnet.engine.cuda;

import dev.longnet.storage.Json;
import dev.longnet.engine.AttentionConfig;
import dev.longnet.engine.AttentionKernel;
import dev.longnet.engine.DilatedAttention;
import dev.longnet.engine.HeadOffsetRule;
import dev.longnet.engine.ReferenceAttention;
import dev.longnet.engine.VectorAttentionKernel;
import dev.longnet.storage.DType;
import dev.longnet.storage.MemoryRows;
import java.io.IOException;
import java.io.PrintStream;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;
import java.util.stream.IntStream;

/**
 * The GPU throughput run of bench/gpu/run-gpu-checks.sh (a main, not a test): the engine with the CUDA kernel on
 * in-memory tensors of N positions, timed, with tokens/s and TFLOPS counted as SPEC.md counts flops, a few rows
 * checked against the double reference, and optionally the CPU kernel on the same input for comparison. One JSON
 * object per run is appended to {@code --out}.
 *
 * <pre>
 * java ... dev.longnet.engine.cuda.CudaThroughput --n 65536,262144 --dtype f16 --heads 8 --dim 64 --preset bench
 *      [--causal] [--rule torchscale|paper] [--threads 8] [--cpu] [--tf32] [--device-mib 512] [--out runs.jsonl]
 *      [--single-view 16384]
 * </pre>
 */
public final class CudaThroughput {
    private CudaThroughput() { }

    public static void main(String[] args) throws Exception {
        List<Long> sizes = new ArrayList<>(List.of(65536L));
        DType dtype = DType.F16;
        int heads = 8, dim = 64, threads = Math.max(1, Math.min(8, Runtime.getRuntime().availableProcessors()));
        String preset = "bench";
        boolean causal = false, cpu = false, tf32 = false;
        HeadOffsetRule rule = HeadOffsetRule.TORCHSCALE;
        long deviceMiB = 512;
        int singleView = 0;
        Path out = null;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--n" -> {
                    sizes.clear();
                    for (String s : args[++i].split(",")) sizes.add(Long.parseLong(s.strip()));
                }
                case "--dtype" -> dtype = DType.parse(args[++i]);
                case "--heads" -> heads = Integer.parseInt(args[++i]);
                case "--dim" -> dim = Integer.parseInt(args[++i]);
                case "--preset" -> preset = args[++i];
                case "--causal" -> causal = true;
                case "--rule" -> rule = HeadOffsetRule.valueOf(args[++i].toUpperCase(Locale.ROOT));
                case "--threads" -> threads = Integer.parseInt(args[++i]);
                case "--cpu" -> cpu = true;
                case "--tf32" -> tf32 = true;
                case "--device-mib" -> deviceMiB = Long.parseLong(args[++i]);
                case "--single-view" -> singleView = Integer.parseInt(args[++i]);
                case "--out" -> out = Path.of(args[++i]);
                default -> throw new IllegalArgumentException("unknown argument " + args[i]);
            }
        }
        PrintStream log = System.out;
        CudaBackend.Availability a = CudaBackend.available();
        log.println("[throughput] " + a);
        if (!a.available()) System.exit(2);
        var options = CudaAttentionKernel.Options.defaults().withWorkspaceBytes(deviceMiB << 20).withTf32(tf32);
        AttentionConfig config = AttentionConfig.preset(preset).heads(heads).headDim(dim).causal(causal)
                .offsetRule(rule).build();
        try (CudaAttentionKernel kernel = CudaBackend.kernel(options)) {
            // Warm-up: JIT, cuBLAS heuristics, every thread's workspace.
            run(config, Math.min(16384, sizes.get(0)), dtype, kernel, threads, null, log, "warmup", false);
            if (singleView > 0) singleView(kernel, singleView, dim, dtype, causal, out, log);
            for (long n : sizes) {
                run(config, n, dtype, kernel, threads, out, log, "cuda", true);
                if (cpu) {
                    run(config, n, dtype, new VectorAttentionKernel(), Runtime.getRuntime().availableProcessors(), out,
                            log, "cpu", false);
                }
            }
        }
    }

    private static void run(AttentionConfig config, long n, DType dtype, AttentionKernel kernel, int threads, Path out,
                            PrintStream log, String label, boolean check) throws IOException {
        int heads = config.heads();
        int d = config.headDim();
        long elements = n * heads * d;
        long[] shape = {n, heads, d};
        try (Arena arena = Arena.ofShared()) {
            MemorySegment q = random(arena, dtype, elements, 1), k = random(arena, dtype, elements, 2),
                    v = random(arena, dtype, elements, 3);
            MemorySegment o = arena.allocate(elements * 4, 64);
            MemorySegment lse = arena.allocate(n * heads * 4, 64);
            var stats0 = kernel instanceof CudaAttentionKernel c ? c.stats() : null;
            long start = System.nanoTime();
            try (DilatedAttention attention = new DilatedAttention(config,
                    DilatedAttention.Options.defaults().withThreads(threads).withKernel(kernel))) {
                attention.attend(MemoryRows.of(q, dtype, shape), MemoryRows.of(k, dtype, shape),
                        MemoryRows.of(v, dtype, shape), MemoryRows.of(o, DType.F32, shape),
                        MemoryRows.of(lse, DType.F32, n, heads));
            }
            double seconds = (System.nanoTime() - start) / 1e9;
            double flops = config.flops(n);
            double maxError = check ? sampledError(config, n, dtype, q, k, v, o, 24) : Double.NaN;
            Json.Obj json = Json.object().put("run", label).put("kernel", kernel.name()).put("n", n).put("heads", heads)
                    .put("dim", d).put("dtype", dtype.toString()).put("causal", config.causal())
                    .put("levels", config.levels().toString()).put("threads", threads).put("seconds", seconds)
                    .put("tokens_per_s", n / seconds).put("tflops", flops / seconds / 1e12)
                    .put("sampled_max_abs_error", maxError);                    // NaN (not checked) is written as null
            if (kernel instanceof CudaAttentionKernel c) {
                var s = c.stats();
                json.put("calls", s.calls() - stats0.calls()).put("bytes_to_device", s.bytesToDevice() - stats0.bytesToDevice())
                        .put("bytes_to_host", s.bytesToHost() - stats0.bytesToHost());
            }
            log.println("[throughput] " + json);
            if (out != null && !label.equals("warmup")) append(out, json.toString());
        }
    }

    /** One view of m rows attended in one call: the device's own speed, without the engine's tiling. */
    private static void singleView(CudaAttentionKernel kernel, int m, int d, DType dtype, boolean causal, Path out,
                                   PrintStream log) throws IOException {
        try (Arena arena = Arena.ofShared()) {
            long elements = (long) m * d;
            var q = new dev.longnet.engine.View(random(arena, dtype, elements, 4), dtype, 0, d, m, d);
            var k = new dev.longnet.engine.View(random(arena, dtype, elements, 5), dtype, 0, d, m, d);
            var v = new dev.longnet.engine.View(random(arena, dtype, elements, 6), dtype, 0, d, m, d);
            double best = Double.MAX_VALUE;
            for (int rep = 0; rep < 3; rep++) {
                var o = new dev.longnet.engine.View(arena.allocate(elements * 4, 64), DType.F32, 0, d, m, d);
                var l = new dev.longnet.engine.View(arena.allocate(m * 4L, 64), DType.F32, 0, 1, m, 1);
                long start = System.nanoTime();
                kernel.attend(q, k, v, o, l, 0, m, causal, (float) (1 / Math.sqrt(d)));
                best = Math.min(best, (System.nanoTime() - start) / 1e9);
            }
            double flops = 4.0 * m * m * d / (causal ? 2 : 1);
            String json = Json.object().put("run", "single-view").put("m", m).put("dim", d).put("dtype", dtype.toString())
                    .put("causal", causal).put("seconds", best).put("tflops", flops / best / 1e12).toString();
            log.println("[throughput] " + json);
            if (out != null) append(out, json);
        }
    }

    /** The largest |engine - reference| over {@code samples} random (position, head) rows. */
    private static double sampledError(AttentionConfig config, long n, DType dtype, MemorySegment q, MemorySegment k,
                                       MemorySegment v, MemorySegment out, int samples) {
        int heads = config.heads();
        int d = config.headDim();
        SplittableRandom random = new SplittableRandom(42);
        double max = 0;
        for (int s = 0; s < samples; s++) {
            long p = random.nextLong(n);
            int h = random.nextInt(heads);
            double[] expected = ReferenceAttention.attendRow(config, n, access(q, dtype, heads, d),
                    access(k, dtype, heads, d), access(v, dtype, heads, d), p, h, null);
            for (int c = 0; c < d; c++) {
                double actual = DType.F32.get(out, (p * heads + h) * d + c);
                max = Math.max(max, Math.abs(actual - expected[c]));
            }
        }
        return max;
    }

    private static ReferenceAttention.RowAccess access(MemorySegment data, DType dtype, int heads, int d) {
        return (p, h) -> {
            double[] row = new double[d];
            long base = (p * heads + h) * d;
            for (int c = 0; c < d; c++) row[c] = dtype.get(data, base + c);
            return row;
        };
    }

    /** Gaussian-ish values (sum of uniforms), filled in parallel. */
    private static MemorySegment random(Arena arena, DType dtype, long elements, long seed) {
        MemorySegment s = arena.allocate(elements * dtype.bytes(), 64);
        int chunks = 256;
        long per = (elements + chunks - 1) / chunks;
        IntStream.range(0, chunks).parallel().forEach(c -> {
            SplittableRandom r = new SplittableRandom(seed * 1_000_003L + c);
            long end = Math.min(elements, (c + 1) * per);
            for (long i = c * per; i < end; i++) {
                float x = (float) ((r.nextDouble() + r.nextDouble() + r.nextDouble() - 1.5) * 2.0);
                dtype.set(s, i, x);
            }
        });
        return s;
    }

    private static void append(Path file, String line) throws IOException {
        Files.writeString(file, line + "\n", StandardCharsets.UTF_8, StandardOpenOption.CREATE,
                StandardOpenOption.APPEND);
    }
}
