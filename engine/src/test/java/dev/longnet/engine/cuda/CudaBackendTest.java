package dev.longnet.engine.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.SymbolLookup;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The backend's behaviour where CUDA is missing (CI, laptops): available() answers false with the reason and never
 * throws, kernel() throws {@link CudaUnavailableException} carrying the same reason, and the library search says
 * what it looked for. On a GPU machine the same calls answer true (checked by {@link CudaParityTest}).
 */
@SuppressWarnings("restricted")   // native access is the point; the JVM runs with --enable-native-access
class CudaBackendTest {

    @Test
    void availabilityNeverThrowsAndAlwaysExplains() {
        CudaBackend.Availability a = CudaBackend.available();
        assertNotNull(a);
        assertFalse(a.description() == null || a.description().isBlank(), "a reason or a description: " + a);
        assertEquals(a, CudaBackend.available(), "probed once, then remembered");
        System.out.println("[cuda] " + a);
    }

    @Test
    void withoutCudaTheKernelIsRefusedWithTheSameReason() {
        CudaBackend.Availability a = CudaBackend.available();
        Assumptions.assumeFalse(a.available(), "skipped: CUDA is available here (" + a.description() + ")");
        CudaUnavailableException e = assertThrows(CudaUnavailableException.class, CudaBackend::kernel);
        assertEquals(a.description(), e.getMessage());
    }

    @Test
    void withoutADriverTheReasonNamesIt() {
        Assumptions.assumeFalse(systemHas("libcuda.so.1"), "skipped: an NVIDIA driver is installed here");
        CudaBackend.Availability a = CudaBackend.available();
        assertFalse(a.available());
        assertTrue(a.description().contains("no NVIDIA driver") && a.description().contains("libcuda.so.1")
                && a.description().contains(NativeLibraries.PATH_ENV), a.description());
    }

    @Test
    void aMissingLibraryMessageListsNamesFoldersAndTheEnvironmentVariable(@TempDir Path dir) throws IOException {
        Assumptions.assumeFalse(systemHas("libcuda.so.1"), "skipped: an NVIDIA driver is installed here");
        Path bogus = Files.write(dir.resolve("libcuda.so.1"), brokenSharedObject());
        Path missing = dir.resolve("no-such-folder");
        CudaUnavailableException e = assertThrows(CudaUnavailableException.class,
                () -> NativeLibraries.open(NativeLibraries.Library.DRIVER, List.of(missing, dir)));
        String m = e.getMessage();
        assertTrue(m.contains("libcuda.so.1, libcuda.so"), "the names tried: " + m);
        assertTrue(m.contains(missing.toString()) && m.contains(dir.toString()), "folders listed: " + m);
        assertTrue(m.contains(bogus.toString()) && m.contains("could not open"), "the unloadable file named: " + m);
        assertTrue(m.contains("LONGNET_CUDA_LIB_PATH"), m);
    }

    @Test
    void libraryPathParsing() {
        assertEquals(List.of(), NativeLibraries.parsePath(null));
        assertEquals(List.of(), NativeLibraries.parsePath("  "));
        assertEquals(List.of(Path.of("/a/lib"), Path.of("/b")), NativeLibraries.parsePath("/a/lib::/b:"));
    }

    @Test
    void configuredFoldersComeFirstEvenWhenMissing() {
        String before = System.getProperty(NativeLibraries.PATH_PROPERTY);
        try {
            System.setProperty(NativeLibraries.PATH_PROPERTY, "/nonexistent/one:/nonexistent/two");
            List<Path> dirs = NativeLibraries.searchDirectories();
            assertEquals(Path.of("/nonexistent/one"), dirs.get(0));
            assertEquals(Path.of("/nonexistent/two"), dirs.get(1));
            assertEquals(dirs.size(), dirs.stream().distinct().count(), "no duplicates");
        } finally {
            if (before == null) System.clearProperty(NativeLibraries.PATH_PROPERTY);
            else System.setProperty(NativeLibraries.PATH_PROPERTY, before);
        }
    }

    /**
     * An ELF header with a single PT_GNU_STACK program header and nothing else: the dynamic linker refuses it, and
     * the JVM, seeing a non-executable stack declared, loads it without touching thread stack guards.
     */
    static byte[] brokenSharedObject() {
        java.nio.ByteBuffer b = java.nio.ByteBuffer.allocate(64 + 56).order(java.nio.ByteOrder.LITTLE_ENDIAN);
        b.put(new byte[]{0x7f, 'E', 'L', 'F', 2, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0});
        b.putShort((short) 3).putShort((short) 62).putInt(1);          // ET_DYN, x86-64, version 1
        b.putLong(0).putLong(64).putLong(0).putInt(0);                   // entry, phoff, shoff, flags
        b.putShort((short) 64).putShort((short) 56).putShort((short) 1); // ehsize, phentsize, phnum
        b.putShort((short) 64).putShort((short) 0).putShort((short) 0);  // shentsize, shnum, shstrndx
        b.putInt(0x6474e551).putInt(6);                                  // PT_GNU_STACK, PF_R | PF_W
        for (int i = 0; i < 6; i++) b.putLong(0);
        return b.array();
    }

    static boolean systemHas(String library) {
        try {
            SymbolLookup.libraryLookup(library, Arena.global());
            return true;
        } catch (IllegalArgumentException e) {
            return false;
        }
    }
}
