/// The per-sequence pseudo-random generator used by the distribution and mirostat samplers.
///
/// Algorithm: xoshiro256** (Blackman & Vigna), 256-bit state, seeded by expanding the 64-bit
/// seed with SplitMix64. Each `SamplerChain` owns one, so a sequence's draws depend only on its
/// own seed and history, never on which other sequences share a batch.
public struct SamplingRandomGenerator: RandomNumberGenerator, Sendable, Equatable {
    private var s0: UInt64
    private var s1: UInt64
    private var s2: UInt64
    private var s3: UInt64

    /// The seed this generator was created (or last reseeded) with.
    public private(set) var seed: UInt64

    /// Creates a generator from a fixed seed; equal seeds give equal streams.
    public init(seed: UInt64) {
        self.seed = seed
        s0 = 0; s1 = 0; s2 = 0; s3 = 0
        reseed(seed)
    }

    /// Restarts the stream from `seed`.
    public mutating func reseed(_ seed: UInt64) {
        self.seed = seed
        var x = seed
        // splitmix64: x += golden gamma; z = mix(x)
        func splitmix(_ x: inout UInt64) -> UInt64 {
            x &+= 0x9E37_79B9_7F4A_7C15
            var z = x
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        s0 = splitmix(&x); s1 = splitmix(&x); s2 = splitmix(&x); s3 = splitmix(&x)
    }

    @inline(__always)
    private static func rotl(_ x: UInt64, _ k: UInt64) -> UInt64 { (x << k) | (x >> (64 - k)) }

    /// Next 64 random bits: result = rotl(s1 * 5, 7) * 9, then the xoshiro state transition.
    @inline(__always)
    public mutating func next() -> UInt64 {
        let result = Self.rotl(s1 &* 5, 7) &* 9
        let t = s1 << 17
        s2 ^= s0
        s3 ^= s1
        s1 ^= s2
        s0 ^= s3
        s2 ^= t
        s3 = Self.rotl(s3, 45)
        return result
    }

    /// A uniform double in [0, 1) with 53 random bits.
    @inline(__always)
    public mutating func nextUnitDouble() -> Double {
        Double(next() >> 11) * 0x1.0p-53
    }

    /// A seed from the system entropy source, used when the request's seed is -1 / 0xFFFFFFFF.
    /// It is below 0xFFFFFFFF, as llama.cpp's 32-bit seeds are, so the seed a response reports can
    /// be sent back to repeat the run: a request's seed must fit llama-server's range, and
    /// 0xFFFFFFFF itself would ask for a random seed again.
    public static func randomSeed() -> UInt64 {
        var system = SystemRandomNumberGenerator()
        return UInt64.random(in: 0..<0xFFFF_FFFF, using: &system)
    }
}
