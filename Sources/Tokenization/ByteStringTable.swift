/// An open-addressing hash map from byte strings to `Int32` values.
///
/// The tokenizers' inner loops ask "is this byte range a token?" for every candidate merge;
/// looking a range up by pointer and length, with the keys kept in one flat buffer, means those
/// loops never allocate a `String` or an `Array`. The first value inserted for a key wins,
/// as with `std::unordered_map::emplace` in llama.cpp.
struct ByteStringTable: Sendable {
    private var keyBytes: [UInt8] = []
    private var keyStarts: [Int32] = [0]
    private var values: [Int32] = []
    private var hashes: [UInt64] = []
    private var slots: [Int32]
    private var mask: Int

    init(minimumCapacity: Int = 16) {
        var size = 16
        while size < minimumCapacity * 2 { size <<= 1 }
        slots = [Int32](repeating: -1, count: size)
        mask = size - 1
        keyBytes.reserveCapacity(minimumCapacity * 8)
        keyStarts.reserveCapacity(minimumCapacity + 1)
        values.reserveCapacity(minimumCapacity)
        hashes.reserveCapacity(minimumCapacity)
    }

    var count: Int { values.count }

    @inline(__always)
    static func hash(_ p: UnsafePointer<UInt8>, _ n: Int) -> UInt64 {
        // FNV-1a: keys are short (a few bytes), so a byte-at-a-time hash is as fast as any.
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for i in 0..<n {
            h = (h ^ UInt64(p[i])) &* 0x0000_0100_0000_01b3
        }
        return h ^ (h >> 29)
    }

    /// Inserts `key → value` unless the key is present; returns whether it inserted.
    @discardableResult
    mutating func insert<C: Collection>(_ key: C, value: Int32) -> Bool where C.Element == UInt8 {
        let bytes = Array(key)
        return bytes.withUnsafeBufferPointer { buf in
            insert(buf.baseAddress ?? UnsafePointer(bitPattern: 1)!, buf.count, value: value)
        }
    }

    @discardableResult
    mutating func insert(_ p: UnsafePointer<UInt8>, _ n: Int, value: Int32) -> Bool {
        let h = Self.hash(p, n)
        if find(p, n, hash: h) >= 0 { return false }
        if (values.count + 1) * 2 > slots.count { grow() }
        let index = Int32(values.count)
        keyBytes.append(contentsOf: UnsafeBufferPointer(start: p, count: n))
        keyStarts.append(Int32(keyBytes.count))
        values.append(value)
        hashes.append(h)
        var slot = Int(truncatingIfNeeded: h) & mask
        while slots[slot] >= 0 { slot = (slot + 1) & mask }
        slots[slot] = index
        return true
    }

    private mutating func grow() {
        let size = slots.count * 2
        slots = [Int32](repeating: -1, count: size)
        mask = size - 1
        for (i, h) in hashes.enumerated() {
            var slot = Int(truncatingIfNeeded: h) & mask
            while slots[slot] >= 0 { slot = (slot + 1) & mask }
            slots[slot] = Int32(i)
        }
    }

    /// The value for the `n` bytes at `p`, or -1 when absent.
    @inline(__always)
    func lookup(_ p: UnsafePointer<UInt8>, _ n: Int) -> Int32 {
        let index = find(p, n, hash: Self.hash(p, n))
        return index >= 0 ? values[index] : -1
    }

    func lookup<C: Collection>(_ key: C) -> Int32 where C.Element == UInt8 {
        let bytes = Array(key)
        return bytes.withUnsafeBufferPointer { buf in
            lookup(buf.baseAddress ?? UnsafePointer(bitPattern: 1)!, buf.count)
        }
    }

    @inline(__always)
    private func find(_ p: UnsafePointer<UInt8>, _ n: Int, hash h: UInt64) -> Int {
        var slot = Int(truncatingIfNeeded: h) & mask
        return slots.withUnsafeBufferPointer { slotsBuf in
            keyBytes.withUnsafeBufferPointer { kb in
                while true {
                    let index = Int(slotsBuf[slot])
                    if index < 0 { return -1 }
                    if hashes[index] == h {
                        let start = Int(keyStarts[index])
                        let end = Int(keyStarts[index + 1])
                        if end - start == n {
                            var same = true
                            var i = 0
                            while i < n {
                                if kb[start + i] != p[i] { same = false; break }
                                i += 1
                            }
                            if same { return index }
                        }
                    }
                    slot = (slot + 1) & mask
                }
            }
        }
    }
}
