/// Memoized transitions between whole stack *sets*, used by the vocabulary
/// walk.
///
/// While filtering, the same stack set is reached over and over (inside a
/// JSON string almost every character leads back to the set it came from), so
/// each distinct set gets an id and its transitions are cached: a dense
/// 128-entry table for ASCII, a dictionary for other code points, and a
/// dictionary for "can this incomplete UTF-8 prefix still be accepted". Per
/// trie node the walk then does one table read instead of re-running the
/// pushdown step.
///
/// Large vocabularies are mostly non-ASCII tokens, and a dictionary probe per
/// such trie node dominated filtering inside JSON strings. But there every
/// stack's class either takes all of U+0080…U+10FFFF or none of it, so every
/// non-ASCII code point leads to the same set: `nonASCII` records that one
/// successor per set (or that the set does not treat them uniformly).
///
/// Ids are only valid until the matcher's arena is compacted; the matcher
/// clears this cache whenever it compacts.
final class StackSetCache {
    static let unknown: Int32 = -2
    static let rejected: Int32 = -1
    /// `nonASCII` entry of a set whose stacks split the non-ASCII range.
    static let mixed: Int32 = -3

    // The walk touches these on every trie node and never holds an access
    // across a write; dynamic exclusivity checks (which the compiler hoists to
    // the walk's per-node loop) cost as much as the walk itself.
    @exclusivity(unchecked) private(set) var sets: [[Int32]] = []
    private var ids: [[Int32]: Int32] = [:]
    @exclusivity(unchecked) private(set) var ascii: UnsafeMutablePointer<Int32>
    private var capacity: Int
    @exclusivity(unchecked) private var other: [UInt64: Int32] = [:]
    @exclusivity(unchecked) private var partial: [UInt64: Bool] = [:]
    /// Per set: the successor for every non-ASCII code point, `rejected`, `mixed` or `unknown`.
    @exclusivity(unchecked) var nonASCII: [Int32] = []

    init() {
        capacity = 64
        ascii = .allocate(capacity: capacity * 128)
    }

    deinit { ascii.deallocate() }

    var count: Int { sets.count }
    /// Stack ids held by all sets, for bounding the cache's memory.
    private(set) var storedIDs = 0

    func clear() {
        storedIDs = 0
        sets.removeAll()
        ids.removeAll()
        other.removeAll()
        partial.removeAll()
        nonASCII.removeAll()
    }

    /// Id of a sorted, unique stack list.
    func intern(_ set: [Int32]) -> Int32 {
        if let id = ids[set] { return id }
        let id = Int32(sets.count)
        if sets.count == capacity {
            let bigger = UnsafeMutablePointer<Int32>.allocate(capacity: capacity * 2 * 128)
            bigger.update(from: ascii, count: capacity * 128)
            ascii.deallocate()
            ascii = bigger
            capacity *= 2
        }
        (ascii + Int(id) * 128).initialize(repeating: StackSetCache.unknown, count: 128)
        sets.append(set)
        storedIDs += set.count
        nonASCII.append(StackSetCache.unknown)
        ids[set] = id
        return id
    }

    @inline(__always)
    func cachedOther(_ set: Int32, _ cp: UInt32) -> Int32? {
        other[UInt64(UInt32(bitPattern: set)) << 32 | UInt64(cp)]
    }

    func storeOther(_ set: Int32, _ cp: UInt32, _ next: Int32) {
        other[UInt64(UInt32(bitPattern: set)) << 32 | UInt64(cp)] = next
    }

    func cachedPartial(_ set: Int32, _ value: UInt32, _ remaining: Int) -> Bool? {
        partial[UInt64(UInt32(bitPattern: set)) << 32 | UInt64(value) << 2 | UInt64(remaining)]
    }

    func storePartial(_ set: Int32, _ value: UInt32, _ remaining: Int, _ ok: Bool) {
        partial[UInt64(UInt32(bitPattern: set)) << 32 | UInt64(value) << 2 | UInt64(remaining)] = ok
    }
}
