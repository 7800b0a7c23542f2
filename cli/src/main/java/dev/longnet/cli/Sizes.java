package dev.longnet.cli;

import java.util.Locale;
import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.TypeConversionException;

/**
 * Counts as users type them: "1048576", "2^20", or a number with a binary suffix, "1M" = 2^20 ("k", "M", "G", "T",
 * optionally followed by "i"). Suffixes are binary because sequence lengths and segments are powers of two.
 */
public final class Sizes {
    private Sizes() { }

    /** Parses a non-negative count; throws IllegalArgumentException naming the text on anything else. */
    public static long parse(String text) {
        String s = text.strip().replace("_", "");
        if (s.isEmpty()) throw invalid(text, "empty");
        try {
            int caret = s.indexOf('^');
            if (caret >= 0) {
                long base = Long.parseLong(s.substring(0, caret));
                int exponent = Integer.parseInt(s.substring(caret + 1));
                if (base < 0 || exponent < 0) throw invalid(text, "negative");
                long value = 1;
                for (int i = 0; i < exponent; i++) value = Math.multiplyExact(value, base);
                return value;
            }
            String lower = s.toLowerCase(Locale.ROOT);
            if (lower.endsWith("i")) lower = lower.substring(0, lower.length() - 1);
            int shift = switch (lower.charAt(lower.length() - 1)) {
                case 'k' -> 10;
                case 'm' -> 20;
                case 'g' -> 30;
                case 't' -> 40;
                default -> 0;
            };
            String digits = shift == 0 ? lower : lower.substring(0, lower.length() - 1);
            long value = Long.parseLong(digits);
            if (value < 0) throw invalid(text, "negative");
            return Math.multiplyExact(value, 1L << shift);
        } catch (NumberFormatException | StringIndexOutOfBoundsException e) {
            throw invalid(text, "expected a count like 1048576, 2^20 or 1M");
        } catch (ArithmeticException e) {
            throw invalid(text, "too large");
        }
    }

    /** A count that must fit an int (heads, head dimension, dilation rates). */
    public static int parseInt(String text) {
        long value = parse(text);
        if (value > Integer.MAX_VALUE) throw invalid(text, "too large (at most " + Integer.MAX_VALUE + ")");
        return (int) value;
    }

    private static IllegalArgumentException invalid(String text, String reason) {
        return new IllegalArgumentException("'" + text + "' is not a valid count: " + reason);
    }

    /** picocli converter for long options and list elements. */
    public static final class LongConverter implements ITypeConverter<Long> {
        @Override
        public Long convert(String value) {
            try {
                return parse(value);
            } catch (IllegalArgumentException e) {
                throw new TypeConversionException(e.getMessage());
            }
        }
    }

    /** picocli converter for int options and list elements. */
    public static final class IntConverter implements ITypeConverter<Integer> {
        @Override
        public Integer convert(String value) {
            try {
                return parseInt(value);
            } catch (IllegalArgumentException e) {
                throw new TypeConversionException(e.getMessage());
            }
        }
    }
}
