import Foundation

/// DRY ("don't repeat yourself"): penalise the tokens that would extend a sequence already seen
/// in the last `window` tokens, by multiplier · base^(length − allowedLength) where `length` is
/// how long the repeat already is.
///
/// The algorithm is llama.cpp's (from koboldcpp), step by step:
/// 1. Sequence breakers cap the length a repeat may have: walking back from the newest token,
///    the first complete breaker found `d` tokens back limits repeats to the tokens after it.
/// 2. A Z-algorithm over the window read newest-first gives, for every earlier position, how many
///    tokens before it equal the newest tokens (capped by step 1) in O(window).
/// 3. Each such match of length ≥ `allowedLength` marks the token that followed it: emitting that
///    token again would continue the repeat; each token keeps its longest match.
/// 4. Those tokens get logit −= multiplier · base^(length − allowedLength), the exponent capped so
///    the power stays below Float's maximum; a token that is itself a whole breaker is left alone.
///
/// Every buffer is allocated once (window- and vocabulary-sized), so a step allocates nothing and
/// costs O(window + marked tokens), plus the breaker look-ups of step 1.
public final class DRYSampler: Sampler {
    public let multiplier: Float
    public let base: Float
    public let allowedLength: Int
    public let window: Int
    public var name: String { "dry" }

    /// Longest breaker llama.cpp uses, in bytes (longer ones are truncated).
    public static let maxBreakerBytes = 40
    /// Longest breaker continuation after the head token, in tokens (llama.cpp's MAX_SEQ_LEN).
    public static let maxBreakerTail = 20

    private let vocabularySize: Int
    /// Per token: index into `breakerTails` when the token starts a breaker, else −1.
    private let breakerSlot: UnsafeMutablePointer<Int32>
    /// Per head token: the tokens that must follow it to complete a breaker (empty: the head alone).
    private let breakerTails: [[[Int32]]]
    /// Per slot: the head token alone is a breaker.
    private let breakerIsSingleToken: [Bool]

    private let ring: UnsafeMutablePointer<Int32>
    private var head = 0
    private var filled = 0
    /// The window newest-first (`recent[0]` is the last token), rebuilt each step.
    private let recent: UnsafeMutablePointer<Int32>
    private let repeatCount: UnsafeMutablePointer<Int32>
    /// Per token: 1 + the longest repeat it would continue, 0 when none (reset after each step).
    private let longest: UnsafeMutablePointer<Int32>
    private let marked: UnsafeMutablePointer<Int32>

    /// - Parameters:
    ///   - window: how many recent tokens are scanned (> 0; the caller clamps it to the context).
    ///   - breakers: (head token, following tokens) pairs, e.g. from `breakerSequences`.
    public init(vocabularySize: Int, multiplier: Float, base: Float, allowedLength: Int, window: Int,
                breakers: [(head: Int32, tail: [Int32])]) {
        precondition(window > 0 && vocabularySize > 0)
        self.vocabularySize = vocabularySize
        self.multiplier = multiplier
        self.base = base
        self.allowedLength = max(0, allowedLength)
        self.window = window
        breakerSlot = .allocate(capacity: vocabularySize)
        breakerSlot.initialize(repeating: -1, count: vocabularySize)
        var tails: [[[Int32]]] = []
        for b in breakers where b.head >= 0 && Int(b.head) < vocabularySize {
            let tail = Array(b.tail.prefix(Self.maxBreakerTail))
            let slot = Int(breakerSlot[Int(b.head)])
            if slot < 0 {
                breakerSlot[Int(b.head)] = Int32(tails.count)
                tails.append([tail])
            } else if !tails[slot].contains(tail) {
                tails[slot].append(tail)
            }
        }
        breakerTails = tails
        breakerIsSingleToken = tails.map { $0.contains { $0.isEmpty } }
        ring = .allocate(capacity: window)
        ring.initialize(repeating: -1, count: window)
        recent = .allocate(capacity: window)
        recent.initialize(repeating: -1, count: window)
        repeatCount = .allocate(capacity: window)
        repeatCount.initialize(repeating: 0, count: window)
        longest = .allocate(capacity: vocabularySize)
        longest.initialize(repeating: 0, count: vocabularySize)
        marked = .allocate(capacity: window)
        marked.initialize(repeating: 0, count: window)
    }

    deinit {
        breakerSlot.deallocate()
        ring.deallocate()
        recent.deallocate()
        repeatCount.deallocate()
        longest.deallocate()
        marked.deallocate()
    }

    /// False when the settings make DRY a no-op (llama.cpp then builds no sampler).
    public static func isActive(multiplier: Float, base: Float, window: Int) -> Bool {
        multiplier != 0 && base >= 1 && window != 0
    }

    /// The tokens in the window, oldest first (tests, diagnostics).
    public var history: [Int32] {
        (0..<filled).map { ring[(head - filled + $0 + window) % window] }
    }

    public func accept(_ token: Int32) {
        ring[head] = token
        head = head + 1 == window ? 0 : head + 1
        if filled < window { filled += 1 }
    }

    public func reset() {
        head = 0
        filled = 0
    }

    public func apply(to c: TokenCandidates, rng: inout SamplingRandomGenerator) {
        let n = filled
        guard Self.isActive(multiplier: multiplier, base: base, window: window), n > allowedLength else { return }
        var src = head
        for i in 0..<n {
            src = src == 0 ? window - 1 : src - 1
            recent[i] = ring[src]
        }

        // Step 1: the nearest complete breaker limits the repeat length.
        var repLimit = n
        search: for i in 0..<n {
            let t = Int(recent[i])
            guard t >= 0 && t < vocabularySize else { continue }
            let slot = Int(breakerSlot[t])
            if slot < 0 { continue }
            var longestMatch = -1
            for tail in breakerTails[slot] {
                let len = tail.count
                guard len > longestMatch && len <= i else { continue }
                var match = true
                for off in 0..<len where tail[off] != recent[i - off - 1] {
                    match = false
                    break
                }
                if match { longestMatch = len }
            }
            if longestMatch >= 0 {
                repLimit = i - longestMatch
                break search
            }
        }
        if repLimit < allowedLength { return }

        // Step 2: Z-algorithm over `recent`; repeatCount[last − k] = matched length at offset k.
        let last = n - 1
        repeatCount.update(repeating: 0, count: n)
        var lt = 0
        var rt = 0
        if n > 1 {
            for k in 1..<n {
                if k > rt {
                    var m = 0
                    while m + k < n && recent[m] == recent[m + k] { m += 1 }
                    repeatCount[last - k] = Int32(min(m, repLimit))
                    if m > 0 {
                        lt = k
                        rt = k + m - 1
                    }
                } else {
                    let p = k - lt
                    let rightLength = rt - k + 1
                    if Int(repeatCount[last - p]) < rightLength {
                        repeatCount[last - k] = Int32(min(Int(repeatCount[last - p]), repLimit))
                    } else {
                        var i = rt + 1
                        while i < n && recent[i] == recent[i - k] { i += 1 }
                        repeatCount[last - k] = Int32(min(i - k, repLimit))
                        lt = k
                        rt = i - 1
                    }
                }
            }
        }

        // Step 3: the token after each long enough match would continue it.
        var markedCount = 0
        for i in 0..<(n - 1) {
            let len = Int(repeatCount[i])
            guard len >= allowedLength else { continue }
            let t = Int(recent[n - 2 - i])
            guard t >= 0 && t < vocabularySize else { continue }
            if longest[t] == 0 {
                marked[markedCount] = Int32(t)
                markedCount += 1
            }
            if Int(longest[t]) < len + 1 { longest[t] = Int32(len + 1) }
        }
        guard markedCount > 0 else { return }

        // Step 4: the penalties.
        var maxExponent = 0
        if base > 1.000001 { maxExponent = Int(88.7228391 / logf(base)) }
        @inline(__always) func penalty(_ t: Int) -> Float? {
            let slot = Int(breakerSlot[t])
            if slot >= 0 && breakerIsSingleToken[slot] { return nil }
            var exponent = Int(longest[t]) - 1 - allowedLength
            if maxExponent > 0 && exponent > maxExponent { exponent = maxExponent }
            return multiplier * powf(base, Float(exponent))
        }
        if c.isDense {
            for j in 0..<markedCount {
                let t = Int(marked[j])
                if let p = penalty(t) { c.denseLogits[t] -= p }
            }
        } else {
            for i in 0..<c.count {
                let t = Int(c.storage[i].id)
                guard t >= 0 && t < vocabularySize && longest[t] > 0 else { continue }
                if let p = penalty(t) { c.storage[i].logit -= p }
            }
            c.logitsChanged(orderPreserved: false)
        }
        for j in 0..<markedCount { longest[Int(marked[j])] = 0 }
    }

    /// Turns breaker strings into (head token, following tokens) pairs the way llama.cpp does:
    /// each breaker is cut to `maxBreakerBytes` bytes (empty ones are skipped); with `piece`
    /// (a token's text bytes), every vocabulary token whose text contains the breaker is a
    /// breaker on its own, and one whose text ends with the start of the breaker is a head whose
    /// tail is the rest of the breaker tokenized (at most `maxBreakerTail` tokens). Without
    /// `piece` (tests), the breaker's own tokenization gives one (head, tail) pair.
    public static func breakerSequences(_ breakers: [String], vocabularySize: Int,
                                        tokenize: (String) -> [Int32],
                                        piece: ((Int32, (UnsafeBufferPointer<UInt8>) -> Void) -> Void)?)
        -> [(head: Int32, tail: [Int32])] {
        let patterns: [[UInt8]] = breakers.map { Array($0.utf8.prefix(maxBreakerBytes)) }.filter { !$0.isEmpty }
        var out: [(head: Int32, tail: [Int32])] = []
        guard let piece else {
            for p in patterns {
                let tokens = tokenize(String(decoding: p, as: UTF8.self))
                guard let first = tokens.first else { continue }
                out.append((first, Array(tokens.dropFirst().prefix(maxBreakerTail))))
            }
            return out
        }
        var tailCache: [[UInt8]: [Int32]] = [:]
        // Most tokens hold no byte that starts a breaker: a 256-entry table rules them out in one pass.
        var starts = [Bool](repeating: false, count: 256)
        for p in patterns { starts[Int(p[0])] = true }
        for id in 0..<vocabularySize {
            let token = Int32(truncatingIfNeeded: id)
            piece(token) { word in
                guard starts.withUnsafeBufferPointer({ table in word.contains { table[Int($0)] } }) else { return }
                for p in patterns {
                    let first = p[0]
                    var contained = false
                    var partialStarts: [Int] = []
                    var pos = 0
                    while pos < word.count {
                        if word[pos] == first {
                            let k = min(p.count, word.count - pos)
                            var equal = true
                            for i in 1..<max(k, 1) where word[pos + i] != p[i] {
                                equal = false
                                break
                            }
                            if equal {
                                if k == p.count { contained = true; break }
                                partialStarts.append(k)
                            }
                        }
                        pos += 1
                    }
                    if contained {
                        out.append((token, []))
                        continue
                    }
                    for k in partialStarts {
                        let rest = Array(p[k...])
                        let tail: [Int32]
                        if let cached = tailCache[rest] {
                            tail = cached
                        } else {
                            tail = Array(tokenize(String(decoding: rest, as: UTF8.self)).prefix(maxBreakerTail))
                            tailCache[rest] = tail
                        }
                        out.append((token, tail))  // duplicates are merged by `init`
                    }
                }
            }
        }
        return out
    }
}
