package dev.longnet.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.longnet.storage.Json;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** The one text form and the one JSON form of a configuration: exact round trips, and one-line refusals. */
class AttentionConfigFormsTest {
    private static final String TEXT = "segments=2048,4096 dilations=1,2 heads=8 headDim=64 causal=true offsets=paper"
            + " scale=0.125 semantics=torchscale";

    private static AttentionConfig random(Random random) {
        int count = 1 + random.nextInt(6);
        long[] w = new long[count];
        int[] r = new int[count];
        for (int i = 0; i < count; i++) {
            w[i] = switch (random.nextInt(3)) {
                case 0 -> 1 + random.nextInt(64);
                case 1 -> 1L << random.nextInt(40);
                default -> 1 + (random.nextLong() >>> 1);
            };
            r[i] = random.nextBoolean() ? 1 + random.nextInt(16) : 1 + random.nextInt(Integer.MAX_VALUE);
        }
        AttentionConfig.Builder builder = AttentionConfig.builder().levels(w, r).heads(1 + random.nextInt(64))
                .headDim(1 + random.nextInt(512)).causal(random.nextBoolean())
                .offsetRule(HeadOffsetRule.values()[random.nextInt(HeadOffsetRule.values().length)])
                .semantics(Semantics.values()[random.nextInt(Semantics.values().length)]);
        switch (random.nextInt(3)) {
            case 0 -> { }                                                            // 1/sqrt(headDim)
            case 1 -> builder.scale(Float.intBitsToFloat(1 + random.nextInt(0x7f7fffff)));   // any positive finite
            default -> builder.scale(random.nextFloat() + Float.MIN_NORMAL);
        }
        return builder.build();
    }

    @Test
    void textAndJsonGiveBackTheSameConfigurationToTheBit() {
        Random random = new Random(21);
        Set<HeadOffsetRule> rules = EnumSet.noneOf(HeadOffsetRule.class);
        Set<Semantics> semantics = EnumSet.noneOf(Semantics.class);
        List<AttentionConfig> configs = new ArrayList<>(List.of(AttentionConfig.parse(TEXT),
                AttentionConfig.builder().levels(new long[]{1}, new int[]{1}).heads(1).headDim(1).scale(Float.MIN_VALUE).build(),
                AttentionConfig.builder().levels(new long[]{Long.MAX_VALUE}, new int[]{Integer.MAX_VALUE})
                        .heads(Integer.MAX_VALUE).headDim(Integer.MAX_VALUE).scale(Float.MAX_VALUE).build()));
        for (int i = 0; i < 3000; i++) configs.add(random(random));
        for (AttentionConfig config : configs) {
            rules.add(config.offsetRule());
            semantics.add(config.semantics());
            String text = config.toText();
            AttentionConfig fromText = AttentionConfig.parse(text);
            assertEquals(config, fromText, text);
            assertEquals(Float.floatToRawIntBits(config.scale()), Float.floatToRawIntBits(fromText.scale()), text);
            assertEquals(text, config.toString());
            assertEquals(AttentionConfig.FIELDS, List.copyOf(config.fields().keySet()));

            String json = config.toJson();
            AttentionConfig fromJson = AttentionConfig.fromJson(json);
            assertEquals(config, fromJson, json);
            assertEquals(Float.floatToRawIntBits(config.scale()), Float.floatToRawIntBits(fromJson.scale()), json);
            // Put in a summary, it is the same object.
            assertEquals("{\"config\":" + json + "}", Json.object().put("config", config).toString());
        }
        assertEquals(EnumSet.allOf(HeadOffsetRule.class), rules);
        assertEquals(EnumSet.allOf(Semantics.class), semantics);
    }

    /** Earlier runs recorded this text as their identity (journals, cluster plans): it must not change. */
    @Test
    void theTextFormIsTheOneEarlierRunsRecorded() {
        AttentionConfig config = AttentionConfig.builder().levels(new long[]{2048, 4096}, new int[]{1, 2}).heads(8)
                .headDim(64).causal(true).offsetRule(HeadOffsetRule.PAPER).semantics(Semantics.TORCHSCALE).build();
        assertEquals(TEXT, config.toText());
        assertEquals("{\"segments\":[2048,4096],\"dilations\":[1,2],\"heads\":8,\"headDim\":64,\"causal\":true,"
                + "\"offsets\":\"paper\",\"scale\":0.125,\"semantics\":\"torchscale\"}", config.toJson());
        assertEquals(config, AttentionConfig.parse("  semantics=torchscale scale=0.125 offsets=paper causal=true"
                + "\theadDim=64 heads=8 dilations=1,2 segments=2048,4096 "), "any order, any white space");
    }

    @Test
    void aMalformedTextIsRefusedInOneLineNamingWhatIsWrong() {
        assertRefused("it is empty", "");
        assertRefused("it is empty", "   ");
        assertRefused("no semantics", TEXT.replace(" semantics=torchscale", ""));
        assertRefused("no heads, headDim", TEXT.replace(" heads=8 headDim=64", ""));
        assertRefused("unknown field 'colour' (known: segments, dilations, heads, headDim, causal, offsets, scale,"
                + " semantics)", TEXT + " colour=red");
        assertRefused("field heads is given twice", TEXT + " heads=8");
        assertRefused("'heads' is not name=value", TEXT.replace("heads=8", "heads"));
        assertRefused("'=8' is not name=value", TEXT.replace("heads=8", "=8"));
        assertRefused("segments: 'x' is not a whole number", TEXT.replace("2048,4096", "2048,x"));
        assertRefused("segments: '' is not a whole number", TEXT.replace("2048,4096", "2048,"));
        assertRefused("dilations: '99999999999' is not a whole number", TEXT.replace("dilations=1,2", "dilations=1,99999999999"));
        assertRefused("must have the same number of entries", TEXT.replace("dilations=1,2", "dilations=1"));
        assertRefused("segment length must be >= 1, got 0", TEXT.replace("2048,4096", "0,4096"));
        assertRefused("heads must be >= 1, got 0", TEXT.replace("heads=8", "heads=0"));
        assertRefused("headDim: '6.5' is not a whole number", TEXT.replace("headDim=64", "headDim=6.5"));
        assertRefused("causal: 'yes' is not true or false", TEXT.replace("causal=true", "causal=yes"));
        assertRefused("unknown head-offset rule 'diagonal'", TEXT.replace("offsets=paper", "offsets=diagonal"));
        assertRefused("scale: 'NaN' is not a decimal number", TEXT.replace("scale=0.125", "scale=NaN"));
        assertRefused("scale: '0x1p-3' is not a decimal number", TEXT.replace("scale=0.125", "scale=0x1p-3"));
        assertRefused("softmax scale must be a positive finite number, got -1.0", TEXT.replace("scale=0.125", "scale=-1"));
        assertRefused("unknown semantics 'fuzzy'", TEXT.replace("semantics=torchscale", "semantics=fuzzy"));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> AttentionConfig.parse(TEXT.replace("heads=8", "heads=0")));
        assertEquals("malformed attention configuration '" + TEXT.replace("heads=8", "heads=0") + "': heads must be"
                + " >= 1, got 0", e.getMessage());
    }

    @Test
    void aMalformedJsonIsRefusedInOneLineNamingWhatIsWrong() {
        String json = AttentionConfig.parse(TEXT).toJson();
        assertJsonRefused("expected an object", "[1]");
        assertJsonRefused("no semantics", json.replace(",\"semantics\":\"torchscale\"", ""));
        assertJsonRefused("unknown field 'colour'", json.replace("}", ",\"colour\":1}"));
        assertJsonRefused("heads must be a whole number, got VALUE_STRING", json.replace("\"heads\":8", "\"heads\":\"8\""));
        assertJsonRefused("segments must be an array of whole numbers", json.replace("[2048,4096]", "\"2048,4096\""));
        assertJsonRefused("dilations must be a whole number, got VALUE_NUMBER_FLOAT", json.replace("[1,2]", "[1,2.5]"));
        assertJsonRefused("causal must be true or false", json.replace("\"causal\":true", "\"causal\":1"));
        assertJsonRefused("scale must be a number", json.replace("0.125", "\"0.125\""));
        assertJsonRefused("softmax scale must be a positive finite number", json.replace("0.125", "0"));
        assertJsonRefused("same number of entries", json.replace("[1,2]", "[1]"));
        assertJsonRefused("text after the object", json + " {}");
        assertJsonRefused("", json.substring(0, json.length() - 10));
        assertEquals(AttentionConfig.parse(TEXT.replace("0.125", "1.0")),
                AttentionConfig.fromJson(json.replace("0.125", "1")), "a whole-number scale reads too");
    }

    private static void assertRefused(String expected, String text) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> AttentionConfig.parse(text));
        assertTrue(e.getMessage().startsWith("malformed attention configuration '") && e.getMessage().contains(expected),
                e.getMessage());
        assertFalse(e.getMessage().contains("\n"), e.getMessage());
    }

    private static void assertJsonRefused(String expected, String json) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> AttentionConfig.fromJson(json));
        assertTrue(e.getMessage().startsWith("malformed attention configuration (JSON): ")
                && e.getMessage().contains(expected), e.getMessage());
        assertFalse(e.getMessage().contains("\n"), e.getMessage());
    }
}
