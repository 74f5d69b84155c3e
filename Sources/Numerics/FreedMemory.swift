import CNumerics

/// Memory the process has freed but the C heap still holds for later allocations.
public enum FreedMemory {
    /// Gives it back to the system where the C library can (after a model was unloaded, say).
    public static func returnToSystem() { cn_release_free_heap() }
}
