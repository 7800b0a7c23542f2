package dev.longnet.cli;

import java.util.List;

/** A JSON object written by hand (the project takes no JSON dependency for one summary line). */
public final class Json {
    private final StringBuilder text = new StringBuilder("{");

    public Json put(String key, Object value) {
        if (text.length() > 1) text.append(',');
        string(key);
        text.append(':');
        value(value);
        return this;
    }

    private void value(Object value) {
        switch (value) {
            case null -> text.append("null");
            case Json json -> text.append(json);
            case String s -> string(s);
            case Boolean b -> text.append(b);
            case Double d -> text.append(Double.isFinite(d) ? d.toString() : "null");
            case Float f -> text.append(Float.isFinite(f) ? f.toString() : "null");
            case Number n -> text.append(n);
            case long[] array -> {
                text.append('[');
                for (int i = 0; i < array.length; i++) text.append(i > 0 ? "," : "").append(array[i]);
                text.append(']');
            }
            case List<?> list -> {
                text.append('[');
                for (int i = 0; i < list.size(); i++) {
                    if (i > 0) text.append(',');
                    value(list.get(i));
                }
                text.append(']');
            }
            default -> string(value.toString());
        }
    }

    private void string(String s) {
        text.append('"');
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '"' -> text.append("\\\"");
                case '\\' -> text.append("\\\\");
                case '\n' -> text.append("\\n");
                case '\r' -> text.append("\\r");
                case '\t' -> text.append("\\t");
                default -> {
                    if (c < 0x20) text.append(String.format("\\u%04x", (int) c));
                    else text.append(c);
                }
            }
        }
        text.append('"');
    }

    @Override
    public String toString() { return text + "}"; }
}
