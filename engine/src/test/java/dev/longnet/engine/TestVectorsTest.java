package dev.longnet.engine;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.longnet.storage.DType;
import dev.longnet.storage.Json;
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
        long[] w = ((List<Number>) c.get("segment_lengths")).stream().mapToLong(Number::longValue).toArray();
        int[] r = ((List<Number>) c.get("dilation_rates")).stream().mapToInt(Number::intValue).toArray();
        AttentionConfig config = AttentionConfig.builder().levels(w, r).heads(((Number) c.get("H")).intValue())
                .headDim(((Number) c.get("D")).intValue()).causal((Boolean) c.get("causal")).offsetRule(rule)
                .scale(((Number) c.get("softmax_scale")).floatValue()).build();
        String suffix = rule == HeadOffsetRule.TORCHSCALE ? "torchscale_head_groups" : "paper_offsets";
        return new Vector(config, ((Number) c.get("N")).intValue(), flatten(json.get("q")),
                flatten(json.get("k")), flatten(json.get("v")),
                flatten(json.get("expected_clean_" + suffix)), flatten(json.get("level_lse_" + suffix)));
    }

    /** The numbers of nested lists in order; null (the vectors' -inf) as negative infinity. */
    private static double[] flatten(Object nested) {
        java.util.List<Double> values = new java.util.ArrayList<>();
        flattenInto(nested, values);
        return values.stream().mapToDouble(Double::doubleValue).toArray();
    }

    private static void flattenInto(Object o, java.util.List<Double> values) {
        if (o instanceof List<?> list) for (Object x : list) flattenInto(x, values);
        else values.add(o == null ? Double.NEGATIVE_INFINITY : ((Number) o).doubleValue());
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
