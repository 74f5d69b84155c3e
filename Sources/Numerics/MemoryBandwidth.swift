import CNumerics

/// Streams bytes from memory as fast as this machine can: a decode step reads every weight once,
/// so this rate over the weights' bytes bounds the decode speed (`cria bench --profile`).
public enum MemoryBandwidth {
    /// Reads every byte of `regions` once, cut into 1 MiB pieces shared by the pool's active
    /// threads; returns a checksum so the reads cannot be optimized away.
    public static func read(_ regions: [UnsafeRawBufferPointer], pool: ComputePool) -> UInt64 {
        let piece = 1 << 20
        var pieces: [UnsafeRawBufferPointer] = []
        for region in regions where region.count > 0 {
            for start in stride(from: 0, to: region.count, by: piece) {
                pieces.append(UnsafeRawBufferPointer(rebasing: region[start..<min(start + piece, region.count)]))
            }
        }
        var sums = [UInt64](repeating: 0, count: pieces.count)
        sums.withUnsafeMutableBufferPointer { out in
            pool.parallelFor(pieces.count) { range in
                for i in range { out[i] = cn_read_checksum(pieces[i].baseAddress!, pieces[i].count) }
            }
        }
        return sums.reduce(0, ^)
    }
}
