package dev.longnet.engine.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * The kernels shipped in the jar: the PTX is built from the current source (its recorded SHA-256 matches; run
 * bench/gpu/build-ptx.sh after editing the .cu), it declares every entry the backend looks up, and each entry's
 * parameters have the sizes {@link CudaDevice} packs.
 */
class CudaKernelsResourceTest {
    /** Per entry, the .param types in order, as CudaDevice packs them (u64 pointers and long longs, u32 ints). */
    static final Map<String, List<String>> PARAMETERS = Map.of(
            CudaKernels.SOFTMAX, List.of("u64", "u32", "u32", "u64", "u64", "u32", "u64"),
            CudaKernels.MERGE, List.of("u64", "u64", "u64", "u64", "u32"),
            CudaKernels.WIDEN_F16, List.of("u64", "u64", "u64"),
            CudaKernels.WIDEN_BF16, List.of("u64", "u64", "u64"));

    @Test
    void ptxIsBuiltFromTheCurrentSource() throws Exception {
        byte[] source = CudaKernels.resource(CudaKernels.SOURCE_RESOURCE);
        String recorded = new String(CudaKernels.resource(CudaKernels.PTX_RESOURCE + ".sha256"),
                StandardCharsets.US_ASCII).strip();
        String actual = HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(source));
        assertEquals(recorded, actual, "longnet_kernels.ptx is stale: run bench/gpu/build-ptx.sh");
    }

    @Test
    void ptxDeclaresEveryEntryWithTheParametersPassed() {
        String ptx = new String(CudaKernels.resource(CudaKernels.PTX_RESOURCE), StandardCharsets.US_ASCII);
        assertTrue(ptx.contains(".address_size 64"), "64-bit PTX");
        for (String entry : CudaKernels.ENTRIES) {
            Matcher m = Pattern.compile("\\.visible \\.entry " + entry + "\\(([^)]*)\\)").matcher(ptx);
            assertTrue(m.find(), entry + " missing from the PTX");
            List<String> types = new ArrayList<>();
            Matcher p = Pattern.compile("\\.param \\.(\\w+) ").matcher(m.group(1));
            while (p.find()) types.add(p.group(1));
            assertEquals(PARAMETERS.get(entry), types, entry + " parameters");
        }
    }

    @Test
    void sourceNeedsNoHeaders() {
        String source = new String(CudaKernels.resource(CudaKernels.SOURCE_RESOURCE), StandardCharsets.UTF_8);
        assertTrue(!source.contains("#include"), "NVRTC compiles it without include paths");
        for (String entry : CudaKernels.ENTRIES) {
            assertTrue(source.contains("extern \"C\" __global__ void " + entry + "("), entry + " has C linkage");
        }
    }
}
