package dev.longnet.engine.cuda;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_DOUBLE;
import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemoryLayout;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Just enough of C to turn the CUDA headers' function prototypes into the {@link FunctionDescriptor}s an x86-64
 * Linux downcall needs: pointers and opaque handles are ADDRESS, {@code size_t}/{@code long long} JAVA_LONG, enums
 * and 32-bit integers JAVA_INT. An unknown type is an error, never a guess.
 */
final class CPrototypes {
    /** Handle typedefs that are pointers to opaque structs. */
    private static final Set<String> HANDLES = Set.of("cudaStream_t", "cudaEvent_t", "CUstream", "CUevent",
            "CUmodule", "CUfunction", "CUcontext", "CUlibrary", "CUkernel", "cublasHandle_t", "nvrtcProgram");
    private static final Set<String> INTS = Set.of("int", "unsigned int", "unsigned", "cudaError_t", "CUresult",
            "CUdevice", "cublasStatus_t", "cublasOperation_t", "cudaDataType", "cudaDataType_t", "cublasComputeType_t",
            "cublasGemmAlgo_t", "cublasMath_t", "nvrtcResult", "enum cudaMemcpyKind", "enum cudaDeviceAttr",
            "cudaMemcpyKind", "cudaDeviceAttr", "int32_t", "uint32_t");
    private static final Set<String> LONGS = Set.of("size_t", "long long", "long long int", "unsigned long long",
            "int64_t", "uint64_t", "CUdeviceptr");
    /** Macros and storage words that decorate declarations and carry no type. */
    private static final Pattern DECORATION = Pattern.compile(
            "\\b(extern|__host__|__device__|__cudart_builtin__|CUDARTAPI|CUDAAPI|CUBLASAPI|CUBLASWINAPI|NVRTC_API"
                    + "|__CUDA_DEPRECATED|CUDART_CB|__dv\\s*\\([^)]*\\))");

    private CPrototypes() { }

    /** A parsed prototype. */
    record Prototype(String name, FunctionDescriptor descriptor, String text) { }

    /** Parses "ret name(type a, type b)" (a trailing ';' is allowed). */
    static Prototype parse(String prototype) {
        String text = DECORATION.matcher(prototype.replace(";", " ")).replaceAll(" ").replaceAll("\\s+", " ").strip();
        int open = text.indexOf('(');
        int close = text.lastIndexOf(')');
        if (open < 0 || close < open) throw new IllegalArgumentException("not a prototype: " + prototype);
        String head = text.substring(0, open).strip();
        Matcher m = Pattern.compile("^(.*?)\\s*\\b(\\w+)$").matcher(head);
        if (!m.matches()) throw new IllegalArgumentException("no name in: " + prototype);
        String returnType = m.group(1);
        String name = m.group(2);
        List<MemoryLayout> arguments = new ArrayList<>();
        String params = text.substring(open + 1, close).strip();
        if (!params.isEmpty() && !params.equals("void")) {
            for (String param : params.split(",")) arguments.add(layout(stripName(param.strip()), prototype));
        }
        MemoryLayout result = returnType.equals("void") ? null : layout(returnType, prototype);
        FunctionDescriptor descriptor = result == null ? FunctionDescriptor.ofVoid(arguments.toArray(MemoryLayout[]::new))
                : FunctionDescriptor.of(result, arguments.toArray(MemoryLayout[]::new));
        return new Prototype(name, descriptor, text);
    }

    /** "const char * const *includeNames" -> "const char * const *"; "int lda" -> "int"; "unsigned int" stays. */
    private static String stripName(String param) {
        String p = param.replaceAll("\\s*\\*\\s*", " * ").replaceAll("\\s+", " ").strip();
        String[] words = p.split(" ");
        if (words.length == 1) return p;
        String last = words[words.length - 1];
        boolean isType = last.equals("*") || TYPE_WORDS.contains(last) || INTS.contains(last) || LONGS.contains(last)
                || HANDLES.contains(last);
        return isType ? p : p.substring(0, p.length() - last.length()).strip();
    }

    private static final Set<String> TYPE_WORDS = Set.of("int", "long", "short", "char", "float", "double", "void",
            "unsigned", "signed", "const");

    private static MemoryLayout layout(String type, String context) {
        String t = type.replaceAll("\\bconst\\b", " ").replaceAll("\\bstruct\\b", " ").replaceAll("\\s+", " ").strip();
        if (t.contains("*")) return ADDRESS;
        if (HANDLES.contains(t)) return ADDRESS;
        if (INTS.contains(t) || t.startsWith("enum ")) return JAVA_INT;
        if (LONGS.contains(t)) return JAVA_LONG;
        if (t.equals("float")) return JAVA_FLOAT;
        if (t.equals("double")) return JAVA_DOUBLE;
        throw new IllegalArgumentException("unknown C type '" + type + "' in " + context);
    }

    /** The header with comments removed. */
    static String stripComments(String header) {
        return header.replaceAll("(?s)/\\*.*?\\*/", " ").replaceAll("//[^\\n]*", " ");
    }

    /** Every declaration of {@code name} in the header (C and, where present, C++ overloads). */
    static List<Prototype> declarations(String header, String name) {
        String code = stripComments(header).replaceAll("(?m)^\\s*#.*$", " ");
        List<Prototype> found = new ArrayList<>();
        for (String statement : code.split(";")) {
            String s = statement;
            int cut = Math.max(s.lastIndexOf('{'), s.lastIndexOf('}'));
            if (cut >= 0) s = s.substring(cut + 1);
            s = s.replace("extern \"C\"", " ").strip();
            if (!Pattern.compile("\\b" + Pattern.quote(name) + "\\s*\\(").matcher(s).find() || !s.endsWith(")")) {
                continue;
            }
            if (s.contains("typedef") || s.contains("=")) continue;
            try {
                Prototype p = parse(s);
                if (p.name().equals(name)) found.add(p);
            } catch (IllegalArgumentException e) {
                // a use of the name, or a type we do not model: not a declaration we bind
            }
        }
        return found;
    }

    /** A {@code #define name other} that renames a function (not the per-thread-stream variants). */
    static Optional<String> renamingMacro(String header, String name) {
        Matcher m = Pattern.compile("(?m)^\\s*#\\s*define\\s+" + Pattern.quote(name) + "\\s+(\\S.*)$")
                .matcher(stripComments(header));
        while (m.find()) {
            String target = m.group(1).strip();
            if (target.matches("__CUDA(RT)?_API_(PTDS|PTSZ)\\(\\s*" + Pattern.quote(name) + "\\s*\\)")) continue;
            return Optional.of(target);
        }
        return Optional.empty();
    }

    /** The integer value of an enumerator or macro {@code name} in the header, if defined there. */
    static Optional<Long> constant(String header, String name) {
        String code = stripComments(header);
        Matcher m = Pattern.compile("\\b" + Pattern.quote(name) + "\\s*=\\s*(-?(?:0x[0-9a-fA-F]+|\\d+))").matcher(code);
        if (m.find()) return Optional.of(Long.decode(m.group(1)));
        m = Pattern.compile("(?m)^\\s*#\\s*define\\s+" + Pattern.quote(name) + "\\s+\\(?\\s*(-?(?:0x[0-9a-fA-F]+|\\d+))")
                .matcher(code);
        if (m.find()) return Optional.of(Long.decode(m.group(1)));
        return Optional.empty();
    }

    /** The prototypes, by name, of a table of C declarations. */
    static Map<String, Prototype> table(List<String> prototypes) {
        Map<String, Prototype> out = new LinkedHashMap<>();
        for (String p : prototypes) {
            Prototype parsed = parse(p);
            out.put(parsed.name(), parsed);
        }
        return out;
    }
}
