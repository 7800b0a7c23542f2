package dev.longnet.engine.cuda;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.SymbolLookup;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.EnumMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;

/**
 * Finds and opens the CUDA shared libraries, lazily and once per process. Nothing here runs before the CUDA backend
 * is asked for, so a machine without CUDA pays nothing.
 *
 * <p>Search order, for each candidate file name of a library (newest major version first): the folders of
 * {@code LONGNET_CUDA_LIB_PATH} (colon-separated; also the system property {@code longnet.cuda.lib.path}), then
 * {@code $CUDA_HOME/lib64}, {@code /usr/local/cuda/lib64} and the usual system folders, then the dynamic linker's own
 * search by bare name ({@code LD_LIBRARY_PATH}, {@code ld.so.cache}). PyTorch's pip wheels keep their CUDA libraries
 * under {@code site-packages/nvidia/&#42;/lib}: put those folders on {@code LONGNET_CUDA_LIB_PATH}.
 *
 * <p>A library that depends on a sibling (cuBLAS on cuBLASLt, NVRTC on its builtins) has the sibling from the same
 * folder opened first, so that the pair never mixes versions from two installs.
 */
@SuppressWarnings("restricted")   // native access is the point; the JVM runs with --enable-native-access
final class NativeLibraries {
    static final String PATH_ENV = "LONGNET_CUDA_LIB_PATH";
    static final String PATH_PROPERTY = "longnet.cuda.lib.path";

    /** The libraries the backend uses. */
    enum Library {
        DRIVER("libcuda (the CUDA driver API)", List.of("libcuda.so.1", "libcuda.so"), List.of()),
        RUNTIME("the CUDA runtime", List.of("libcudart.so.13", "libcudart.so.12", "libcudart.so"), List.of()),
        CUBLAS("cuBLAS", List.of("libcublas.so.13", "libcublas.so.12", "libcublas.so"), List.of("libcublasLt.so")),
        NVRTC("NVRTC", List.of("libnvrtc.so.13", "libnvrtc.so.12", "libnvrtc.so"), List.of("libnvrtc-builtins.so"));

        final String description;
        final List<String> fileNames;
        /** Prefixes of sibling libraries to open first, from the same folder. */
        final List<String> siblings;

        Library(String description, List<String> fileNames, List<String> siblings) {
            this.description = description;
            this.fileNames = fileNames;
            this.siblings = siblings;
        }
    }

    /** An opened library: where it came from and its symbols. */
    record Loaded(Library library, String path, SymbolLookup lookup) {
        String describe() { return library.description + " (" + path + ")"; }
    }

    private static final Map<Library, Object> CACHE = new EnumMap<>(Library.class);

    private NativeLibraries() { }

    /** Opens {@code library} (once; later calls return the same result or throw the same failure). */
    static Loaded load(Library library) {
        Object cached;
        synchronized (CACHE) {
            cached = CACHE.get(library);
            if (cached == null) {
                try {
                    cached = open(library, searchDirectories());
                } catch (CudaUnavailableException e) {
                    cached = e;
                }
                CACHE.put(library, cached);
            }
        }
        if (cached instanceof CudaUnavailableException e) {
            throw new CudaUnavailableException(e.getMessage(), e);
        }
        return (Loaded) cached;
    }

    /** Opens the first candidate found: by path in {@code directories}, then by bare name through the system. */
    static Loaded open(Library library, List<Path> directories) {
        if (!isLinux()) {
            throw new CudaUnavailableException("the CUDA backend supports Linux only (this is "
                    + System.getProperty("os.name") + ")");
        }
        List<String> failures = new ArrayList<>();
        for (String name : library.fileNames) {
            for (Path dir : directories) {
                Path file = dir.resolve(name);
                if (!Files.isRegularFile(file)) continue;
                try {
                    openSiblings(library, dir, name);
                    SymbolLookup lookup = SymbolLookup.libraryLookup(file, Arena.global());
                    return new Loaded(library, file.toString(), lookup);
                } catch (IllegalArgumentException | IllegalCallerException e) {
                    failures.add(file + ": " + e.getMessage());
                }
            }
        }
        for (String name : library.fileNames) {
            try {
                SymbolLookup lookup = SymbolLookup.libraryLookup(name, Arena.global());
                return new Loaded(library, name + " via the system library path", lookup);
            } catch (IllegalArgumentException e) {
                // not on the system path either: try the next name
            } catch (IllegalCallerException e) {
                throw new CudaUnavailableException("native access is disabled: run the JVM with "
                        + "--enable-native-access=ALL-UNNAMED to use the CUDA backend", e);
            }
        }
        StringBuilder message = new StringBuilder(library.description).append(" not found: looked for ")
                .append(String.join(", ", library.fileNames)).append(" in ")
                .append(directories.isEmpty() ? "no folders" : directories.toString())
                .append(" and on the system library path (LD_LIBRARY_PATH, ld.so.cache)");
        if (!failures.isEmpty()) message.append("; found but could not open: ").append(String.join("; ", failures));
        message.append(". Set ").append(PATH_ENV).append(" to the folders that hold the CUDA libraries (colon-separated;"
                + " for PyTorch's wheels, the lib folders under site-packages/nvidia).");
        throw new CudaUnavailableException(message.toString());
    }

    /** Opens, best effort, the siblings of {@code name} found in {@code dir}, preferring the same major version. */
    private static void openSiblings(Library library, Path dir, String name) {
        String version = name.contains(".so.") ? name.substring(name.indexOf(".so.") + 3) : "";   // ".13" or ""
        for (String prefix : library.siblings) {
            try (Stream<Path> files = Files.list(dir)) {
                List<Path> candidates = files.filter(f -> f.getFileName().toString().startsWith(prefix))
                        .sorted(Comparator.comparing((Path f) -> !f.getFileName().toString().startsWith(prefix + version))
                                .thenComparing(f -> f.getFileName().toString(), Comparator.reverseOrder()))
                        .toList();
                for (Path f : candidates) {
                    try {
                        SymbolLookup.libraryLookup(f, Arena.global());
                        break;
                    } catch (IllegalArgumentException e) {
                        // try the next; the main library's own dependency search may still find one
                    }
                }
            } catch (IOException e) {
                // unreadable folder: leave it to the dynamic linker
            }
        }
    }

    /** The folders searched, in order, without duplicates: the configured path first, then the usual places. */
    static List<Path> searchDirectories() {
        Set<Path> configured = new LinkedHashSet<>();       // kept even when missing, so the message shows them
        configured.addAll(parsePath(System.getProperty(PATH_PROPERTY)));
        configured.addAll(parsePath(System.getenv(PATH_ENV)));
        Set<Path> dirs = new LinkedHashSet<>();
        for (String env : List.of("CUDA_HOME", "CUDA_PATH")) {
            String home = System.getenv(env);
            if (home != null && !home.isBlank()) {
                dirs.add(Path.of(home, "lib64"));
                dirs.add(Path.of(home, "lib"));
            }
        }
        for (String dir : List.of("/usr/local/cuda/lib64", "/usr/local/cuda/targets/x86_64-linux/lib",
                "/usr/local/nvidia/lib64", "/usr/local/nvidia/lib", "/usr/lib/x86_64-linux-gnu", "/usr/lib64",
                "/usr/lib/wsl/lib")) {
            dirs.add(Path.of(dir));
        }
        dirs.removeIf(dir -> configured.contains(dir) || !Files.isDirectory(dir));
        List<Path> out = new ArrayList<>(configured);
        out.addAll(dirs);
        return out;
    }

    /** The folders of a colon-separated path; empty entries are dropped. */
    static List<Path> parsePath(String path) {
        if (path == null || path.isBlank()) return List.of();
        List<Path> out = new ArrayList<>();
        for (String part : path.split(":")) {
            if (!part.isBlank()) out.add(Path.of(part.strip()));
        }
        return out;
    }

    private static boolean isLinux() {
        return System.getProperty("os.name", "").toLowerCase(Locale.ROOT).contains("linux");
    }
}
