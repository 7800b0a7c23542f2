package dev.longnet.storage;

import java.nio.file.Path;
import java.util.Arrays;

/**
 * A strict pull reader for the JSON of a safetensors header: objects, arrays, strings with escapes and integers —
 * just what that header holds, so there is no dependency and no generic tree. The caller drives it by the schema
 * it expects; every deviation is a {@link TensorFormatException} naming the file and the offset.
 */
final class JsonReader {
    private final Path file;
    private final String text;
    private int pos;

    JsonReader(Path file, String text) {
        this.file = file;
        this.text = text;
    }

    /** Skips JSON whitespace; true if c comes next, which is then consumed. */
    boolean consume(char c) {
        skipWhitespace();
        if (pos < text.length() && text.charAt(pos) == c) {
            pos++;
            return true;
        }
        return false;
    }

    void expect(char c) throws TensorFormatException {
        if (!consume(c)) throw error("expected '" + c + "'");
    }

    /** True when only whitespace is left. */
    boolean atEnd() {
        skipWhitespace();
        return pos == text.length();
    }

    String readString() throws TensorFormatException {
        expect('"');
        StringBuilder out = new StringBuilder();
        while (true) {
            if (pos >= text.length()) throw error("unterminated string");
            char c = text.charAt(pos++);
            if (c == '"') return out.toString();
            if (c < 0x20) throw error("unescaped control character in a string");
            if (c != '\\') {
                out.append(c);
                continue;
            }
            if (pos >= text.length()) throw error("unterminated string");
            char escaped = text.charAt(pos++);
            switch (escaped) {
                case '"', '\\', '/' -> out.append(escaped);
                case 'b' -> out.append('\b');
                case 'f' -> out.append('\f');
                case 'n' -> out.append('\n');
                case 'r' -> out.append('\r');
                case 't' -> out.append('\t');
                case 'u' -> out.append(readHexChar());
                default -> throw error("invalid escape '\\" + escaped + "'");
            }
        }
    }

    private char readHexChar() throws TensorFormatException {
        if (pos + 4 > text.length()) throw error("truncated \\u escape");
        int value = 0;
        for (int i = 0; i < 4; i++) {
            int digit = Character.digit(text.charAt(pos++), 16);
            if (digit < 0) throw error("invalid \\u escape");
            value = value * 16 + digit;
        }
        return (char) value;
    }

    /** A JSON integer that fits a long; fractions and exponents are refused, as no field here may hold one. */
    long readLong() throws TensorFormatException {
        skipWhitespace();
        int start = pos;
        boolean negative = pos < text.length() && text.charAt(pos) == '-';
        if (negative) pos++;
        int digitsStart = pos;
        long value = 0;
        while (pos < text.length() && text.charAt(pos) >= '0' && text.charAt(pos) <= '9') {
            int digit = text.charAt(pos++) - '0';
            if (value > (Long.MAX_VALUE - digit) / 10) throw error("integer too large");
            value = value * 10 + digit;
        }
        if (pos == digitsStart) throw error("expected an integer");
        if (text.charAt(digitsStart) == '0' && pos - digitsStart > 1) throw error("leading zero in a number");
        if (pos < text.length() && ".eE".indexOf(text.charAt(pos)) >= 0) {
            pos = start;
            throw error("expected an integer, found a fraction or exponent");
        }
        return negative ? -value : value;
    }

    /** An array of integers: [1, 2, 3]. */
    long[] readLongArray() throws TensorFormatException {
        expect('[');
        long[] values = new long[4];
        int count = 0;
        if (!consume(']')) {
            do {
                if (count == values.length) values = Arrays.copyOf(values, count * 2);
                values[count++] = readLong();
            } while (consume(','));
            expect(']');
        }
        return Arrays.copyOf(values, count);
    }

    int offset() { return pos; }

    private void skipWhitespace() {
        while (pos < text.length()) {
            char c = text.charAt(pos);
            if (c != ' ' && c != '\t' && c != '\n' && c != '\r') return;
            pos++;
        }
    }

    TensorFormatException error(String reason) {
        return new TensorFormatException(file, "malformed JSON header at character " + pos + ": " + reason);
    }
}
