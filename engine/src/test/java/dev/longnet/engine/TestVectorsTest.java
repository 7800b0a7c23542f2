package dev.longnet.engine;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.longnet.storage.DType;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** SPEC.md's test vectors (copied from shared/testvectors) under both head-offset rules. */
class TestVectorsTest {

    static List<Arguments> cases() {
        return List.of(
                Arguments.of("causal_N16_H4_D4_w4-8-16_r1-2-4.json", HeadOffsetRule.TORCHSCALE),
                Arguments.of("causal_N16_H4_D4_w4-8-16_r1-2-4.json", HeadOffsetRule.PAPER),
                Arguments.of("noncausal_N16_H4_D4_w4-8-16_r1-2-4.json", HeadOffsetRule.TORCHSCALE),
                Arguments.of("noncausal_N16_H4_D4_w4-8-16_r1-2-4.json", HeadOffsetRule.PAPER));
    }

    record Vector(AttentionConfig config, int n, double[] q, double[] k, double[] v, double[] expected,
                  double[] levelLse) { }

    @SuppressWarnings("unchecked")
    static Vector load(String file, HeadOffsetRule rule) throws Exception {
        String text;
        try (InputStream in = TestVectorsTest.class.getResourceAsStream("/testvectors/" + file)) {
            text = new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
        Map<String, Object> json = (Map<String, Object>) Json.parse(text);
        Map<String, Object> c = (Map<String, Object>) json.get("config");
        long[] w = ((List<Double>) c.get("segment_lengths")).stream().mapToLong(Double::longValue).toArray();
        int[] r = ((List<Double>) c.get("dilation_rates")).stream().mapToInt(Double::intValue).toArray();
        AttentionConfig config = AttentionConfig.builder().levels(w, r).heads(((Double) c.get("H")).intValue())
                .headDim(((Double) c.get("D")).intValue()).causal((Boolean) c.get("causal")).offsetRule(rule)
                .scale(((Double) c.get("softmax_scale")).floatValue()).build();
        String suffix = rule == HeadOffsetRule.TORCHSCALE ? "torchscale_head_groups" : "paper_offsets";
        return new Vector(config, ((Double) c.get("N")).intValue(), Json.flatten(json.get("q")),
                Json.flatten(json.get("k")), Json.flatten(json.get("v")),
                Json.flatten(json.get("expected_clean_" + suffix)), Json.flatten(json.get("level_lse_" + suffix)));
    }

    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("cases")
    void referenceMatchesTheVectorsTo1e12(String file, HeadOffsetRule rule) throws Exception {
        Vector t = load(file, rule);
        ReferenceAttention.Result result = ReferenceAttention.attend(t.config(), t.n(), t.q(), t.k(), t.v());
        assertArrayEquals(t.expected(), result.out(), 1e-12);
        // level_lse is [level][head][position]; the reference keeps [level][position·H + head].
        int heads = t.config().heads();
        for (int level = 0; level < t.config().levels().size(); level++) {
            for (int h = 0; h < heads; h++) {
                for (int p = 0; p < t.n(); p++) {
                    double expected = t.levelLse()[(level * heads + h) * t.n() + p];
                    double actual = result.levelLse()[level][p * heads + h];
                    if (expected == Double.NEGATIVE_INFINITY) assertEquals(expected, actual);
                    else assertEquals(expected, actual, 1e-12, "lse level " + level + " head " + h + " pos " + p);
                }
            }
        }
    }

    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("cases")
    void vectorKernelMatchesTheVectorsTo1e5(String file, HeadOffsetRule rule) throws Exception {
        Vector t = load(file, rule);
        for (int threads : new int[]{1, 2}) {
            double[] out = TestData.engine(t.config(), t.n(), t.q(), t.k(), t.v(), DType.F32,
                    DilatedAttention.Options.defaults().withThreads(threads));
            double diff = TestData.maxAbsDiff(t.expected(), out);
            assertTrue(diff <= 1e-5, "max abs diff " + diff + " with " + threads + " threads");
        }
    }
}
