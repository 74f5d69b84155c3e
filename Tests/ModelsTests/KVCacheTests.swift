import Foundation
import Testing
import GGUF
@testable import Models

/// The KV cache's storage in each format: cell sizes, compaction and prefix copies move whole
/// rows, and slot files round-trip, name a format mismatch, and still read the older f16 layout.
@Suite struct KVCacheTests {
    /// A cache with `n` cells in sequence 0 whose key and value bytes encode (layer, cell, byte).
    static func filled(_ key: GGMLType, _ value: GGMLType, cells n: Int) throws -> KVCache {
        let cache = KVCache(layerCount: 3, kvDimension: 64, capacity: 8, keyType: key, valueType: value)
        let s = try cache.cells(0)
        for c in 0..<n {
            s.positions[c] = Int32(10 + c)
            for l in 0..<3 {
                for b in 0..<cache.keyRowBytes { s.key(layer: l, cell: c).storeBytes(of: UInt8(truncatingIfNeeded: l * 97 + c * 13 + b), toByteOffset: b, as: UInt8.self) }
                for b in 0..<cache.valueRowBytes { s.value(layer: l, cell: c).storeBytes(of: UInt8(truncatingIfNeeded: l * 89 + c * 7 + b * 3), toByteOffset: b, as: UInt8.self) }
            }
        }
        s.count = n
        return cache
    }

    @Test func rowSizesFollowTheFormats() {
        let f16 = KVCache(layerCount: 2, kvDimension: 256, capacity: 100)
        let q8 = KVCache(layerCount: 2, kvDimension: 256, capacity: 100, keyType: .q8_0, valueType: .q8_0)
        let q4 = KVCache(layerCount: 2, kvDimension: 256, capacity: 100, keyType: .q4_0, valueType: .f16)
        #expect(f16.keyRowBytes == 512 && q8.keyRowBytes == 272 && q4.keyRowBytes == 144 && q4.valueRowBytes == 512)
        #expect(f16.bytesPerSequence == 2 * 100 * 1024 + 400)
        #expect(q8.bytesPerSequence == 2 * 100 * 544 + 400)
    }

    /// A context no machine can hold is an error, not a trap: its size overflows or the
    /// allocation is refused when a sequence first uses it.
    @Test func anImpossibleCapacityIsAnErrorNotATrap() {
        let huge = KVCache(layerCount: 18, kvDimension: 256, capacity: 1 << 40)
        #expect(huge.bytes(sequences: 1) == 18 * (1 << 40) * 1024 + (1 << 40) * 4)
        #expect(huge.bytes(sequences: 1 << 20) == nil, "overflows an Int")
        #expect(KVCache(layerCount: 18, kvDimension: 256, capacity: .max / 2).bytesPerSequence == .max)
        #expect(throws: ModelError.self) { _ = try huge.cells(0) }
        do { _ = try huge.cells(0) } catch {
            #expect(error.description.contains("could not be allocated"), "\(error)")
        }
        #expect(huge.count(0) == 0)
    }

    @Test(arguments: [(GGMLType.q8_0, GGMLType.q4_0), (.f16, .f16), (.q4_0, .q8_0)])
    func slotFilesRoundTrip(_ key: GGMLType, _ value: GGMLType) throws {
        let cache = try Self.filled(key, value, cells: 5)
        let bytes = cache.encodedSequence(0)
        let other = KVCache(layerCount: 3, kvDimension: 64, capacity: 8, keyType: key, valueType: value)
        try other.loadSequence(2, from: bytes)
        #expect(other.encodedSequence(2) == bytes)
        #expect(other.positions(2) == [10, 11, 12, 13, 14])
        // Another format is refused by name.
        let mismatched = KVCache(layerCount: 3, kvDimension: 64, capacity: 8, keyType: key == .f16 ? .q8_0 : .f16, valueType: value)
        #expect(throws: ModelError.self) { try mismatched.loadSequence(0, from: bytes) }
        do { try mismatched.loadSequence(0, from: bytes) } catch {
            #expect(error.description.contains("\(key.name.lowercased()) keys"), "\(error)")
        }
        #expect(mismatched.count(0) == 0)
    }

    /// Files written before cache formats existed: UInt32 layers, kvDimension, n, positions, then f16 rows.
    @Test func legacyF16SlotFilesStillLoad() throws {
        let cache = try Self.filled(.f16, .f16, cells: 2)
        var legacy: [UInt8] = []
        for v in [UInt32(3), 64, 2] { withUnsafeBytes(of: v.littleEndian) { legacy += $0 } }
        let current = cache.encodedSequence(0)
        legacy += current[24...]  // same positions and rows after the 24-byte header
        let other = KVCache(layerCount: 3, kvDimension: 64, capacity: 8)
        try other.loadSequence(0, from: legacy)
        #expect(other.encodedSequence(0) == current)
        let q8 = KVCache(layerCount: 3, kvDimension: 64, capacity: 8, keyType: .q8_0, valueType: .q8_0)
        #expect(throws: ModelError.self) { try q8.loadSequence(0, from: legacy) }
    }

    @Test func compactionAndPrefixCopiesMoveWholeRows() throws {
        let cache = try Self.filled(.q8_0, .q4_0, cells: 6)
        let before = cache.encodedSequence(0)
        try cache.copyPrefix(from: 0, to: 1, end: 13)  // positions 10, 11, 12
        #expect(cache.positions(1) == [10, 11, 12])
        cache.remove(0, positions: 11..<13)
        #expect(cache.positions(0) == [10, 13, 14, 15])
        let s = try cache.cells(0), original = try KVCacheTests.filled(.q8_0, .q4_0, cells: 6).cells(0)
        for l in 0..<3 {
            for (kept, from) in [(0, 0), (1, 3), (3, 5)] {
                #expect(memcmp(s.key(layer: l, cell: kept), original.key(layer: l, cell: from), cache.keyRowBytes) == 0)
                #expect(memcmp(s.value(layer: l, cell: kept), original.value(layer: l, cell: from), cache.valueRowBytes) == 0)
            }
        }
        #expect(before != cache.encodedSequence(0))
    }
}
