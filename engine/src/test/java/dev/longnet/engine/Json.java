package dev.longnet.engine;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** A minimal JSON reader for the test vectors: objects, arrays, strings, numbers, booleans and null. */
final class Json {
    private final String text;
    private int pos;

    private Json(String text) { this.text = text; }

    static Object parse(String text) {
        Json json = new Json(text);
        Object value = json.value();
        json.skipSpace();
        if (json.pos != text.length()) throw new IllegalArgumentException("trailing text at " + json.pos);
        return value;
    }

    private Object value() {
        skipSpace();
        char c = text.charAt(pos);
        switch (c) {
            case '{': {
                pos++;
                Map<String, Object> map = new LinkedHashMap<>();
                skipSpace();
                if (text.charAt(pos) == '}') { pos++; return map; }
                while (true) {
                    skipSpace();
                    String key = (String) value();
                    skipSpace();
                    expect(':');
                    map.put(key, value());
                    skipSpace();
                    if (text.charAt(pos) == ',') { pos++; continue; }
                    expect('}');
                    return map;
                }
            }
            case '[': {
                pos++;
                List<Object> list = new ArrayList<>();
                skipSpace();
                if (text.charAt(pos) == ']') { pos++; return list; }
                while (true) {
                    list.add(value());
                    skipSpace();
                    if (text.charAt(pos) == ',') { pos++; continue; }
                    expect(']');
                    return list;
                }
            }
            case '"': {
                int end = text.indexOf('"', pos + 1);
                String s = text.substring(pos + 1, end);
                pos = end + 1;
                return s;
            }
            default: {
                if (text.startsWith("true", pos)) { pos += 4; return Boolean.TRUE; }
                if (text.startsWith("false", pos)) { pos += 5; return Boolean.FALSE; }
                if (text.startsWith("null", pos)) { pos += 4; return null; }
                int start = pos;
                while (pos < text.length() && "+-0123456789.eE".indexOf(text.charAt(pos)) >= 0) pos++;
                return Double.parseDouble(text.substring(start, pos));
            }
        }
    }

    private void expect(char c) {
        if (text.charAt(pos) != c) throw new IllegalArgumentException("expected '" + c + "' at " + pos);
        pos++;
    }

    private void skipSpace() {
        while (pos < text.length() && Character.isWhitespace(text.charAt(pos))) pos++;
    }

    /** Flattens nested lists of numbers in order (C order for the test vectors' tensors). */
    static double[] flatten(Object nested) {
        List<Double> values = new ArrayList<>();
        flattenInto(nested, values);
        double[] out = new double[values.size()];
        for (int i = 0; i < out.length; i++) out[i] = values.get(i);
        return out;
    }

    private static void flattenInto(Object o, List<Double> values) {
        if (o instanceof List<?> list) for (Object x : list) flattenInto(x, values);
        else values.add(o == null ? Double.NEGATIVE_INFINITY : (Double) o);
    }
}
