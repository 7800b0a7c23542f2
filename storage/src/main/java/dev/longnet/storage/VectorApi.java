package dev.longnet.storage;

/**
 * Whether this JVM has the Vector API (the incubator module {@code jdk.incubator.vector}, which needs
 * {@code --add-modules jdk.incubator.vector}). Classes that use it are loaded only where it is; elsewhere the
 * engine runs scalar code and says so once.
 */
public final class VectorApi {
    private static final boolean AVAILABLE = ModuleLayer.boot().findModule("jdk.incubator.vector").isPresent();

    private VectorApi() { }

    public static boolean available() { return AVAILABLE; }

    /** The flag that adds the module to a JVM. */
    public static final String FLAG = "--add-modules jdk.incubator.vector";
}
