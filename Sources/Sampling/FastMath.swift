import Foundation

/// Vectorised whole-vocabulary kernels (max, argmax, exp-sum, threshold scans) used on the dense
/// logits so that the common path never touches 262k entries more than once or twice.
enum FastMath {
    typealias V = SIMD16<Float>

    @inline(__always)
    static func load(_ p: UnsafePointer<Float>) -> V {
        UnsafeRawPointer(p).loadUnaligned(as: V.self)
    }

    /// max_i x_i (NaN entries are ignored). Eight independent lanes so LLVM vectorises it.
    static func maximum(_ x: UnsafePointer<Float>, _ n: Int) -> Float {
        var m0 = -Float.infinity, m1 = m0, m2 = m0, m3 = m0, m4 = m0, m5 = m0, m6 = m0, m7 = m0
        var i = 0
        while i + 8 <= n {
            let a = x[i], b = x[i + 1], c = x[i + 2], d = x[i + 3]
            let e = x[i + 4], f = x[i + 5], g = x[i + 6], h = x[i + 7]
            m0 = a > m0 ? a : m0; m1 = b > m1 ? b : m1; m2 = c > m2 ? c : m2; m3 = d > m3 ? d : m3
            m4 = e > m4 ? e : m4; m5 = f > m5 ? f : m5; m6 = g > m6 ? g : m6; m7 = h > m7 ? h : m7
            i += 8
        }
        var r = Swift.max(Swift.max(Swift.max(m0, m1), Swift.max(m2, m3)), Swift.max(Swift.max(m4, m5), Swift.max(m6, m7)))
        while i < n { if x[i] > r { r = x[i] }; i += 1 }
        return r
    }

    /// Index of the first maximum.
    static func argmax(_ x: UnsafePointer<Float>, _ n: Int) -> Int {
        let m = maximum(x, n)
        for i in 0..<n where x[i] == m { return i }
        return 0
    }

    /// Scalar exp with only arithmetic and bit operations (vectorisable in loops):
    /// x = k·ln2 + r, |r| ≤ ln2/2, e^r by a degree-6 polynomial, 2^k from exponent bits. Rel. error ≈ 2e-7.
    @inline(__always)
    static func exp(_ x: Float) -> Float {
        let xc = Swift.min(Swift.max(x, -87.0), 88.0)
        // Round to nearest via the 1.5·2^23 magic constant.
        let kf = (xc * 1.442_695_04 + 12_582_912.0) - 12_582_912.0
        var r = xc - kf * 0.693_145_751_953_125
        r = r - kf * 1.428_606_765_330_187e-06
        var p: Float = 1.0 / 720.0
        p = p * r + 1.0 / 120.0
        p = p * r + 1.0 / 24.0
        p = p * r + 1.0 / 6.0
        p = p * r + 0.5
        p = p * r + 1.0
        p = p * r + 1.0
        // k + 127 ∈ [40, 254] sits in the low mantissa bits of kf + (1.5·2^23 + 127): no int conversion.
        let biased = (kf + (12_582_912.0 + 127.0)).bitPattern & 0xFF
        let scale = Float(bitPattern: biased &<< 23)
        let v = p * scale
        return x < -87.0 ? 0 : v
    }

    typealias V8 = SIMD8<Float>

    /// Vector form of `exp` (same algorithm, eight lanes; only ops that lower to plain SIMD).
    @inline(__always)
    static func exp(_ x: V8) -> V8 {
        var xc = x.replacing(with: -87.0, where: x .< -87.0)
        xc = xc.replacing(with: 88.0, where: xc .> 88.0)
        let magic = V8(repeating: 12_582_912.0)
        let kf = (xc * 1.442_695_04 + magic) - magic
        var r = xc - kf * 0.693_145_751_953_125
        r = r - kf * 1.428_606_765_330_187e-06
        var p = V8(repeating: 1.0 / 720.0)
        p = p * r + 1.0 / 120.0
        p = p * r + 1.0 / 24.0
        p = p * r + 1.0 / 6.0
        p = p * r + 0.5
        p = p * r + 1.0
        p = p * r + 1.0
        let biased = unsafeBitCast(kf + (12_582_912.0 + 127.0), to: SIMD8<UInt32>.self) & 0xFF
        let scale = unsafeBitCast(biased &<< 23, to: V8.self)
        return (p * scale).replacing(with: 0, where: x .< -87.0)
    }

    /// Σ_i exp(x_i - shift): eight float lanes, flushed to double every 4096 elements.
    static func expSum(_ x: UnsafePointer<Float>, _ n: Int, shift: Float) -> Double {
        var total: Double = 0
        var i = 0
        let s = V8(repeating: shift)
        while i + 8 <= n {
            let end = Swift.min(n, i + 4096)
            var acc = V8()
            while i + 8 <= end {
                acc += exp(UnsafeRawPointer(x + i).loadUnaligned(as: V8.self) - s)
                i += 8
            }
            total += Double(acc.sum())
        }
        while i < n { total += Double(exp(x[i] - shift)); i += 1 }
        return total
    }

    /// Collects the `k` largest entries of `x` into `out[0..<k]` sorted by descending value
    /// (ties: lower id first). Uses a min-heap and skips 16-wide blocks that cannot beat it.
    /// Returns the number written (min(k, n)).
    static func topK(_ x: UnsafePointer<Float>, _ n: Int, k: Int,
                     into out: UnsafeMutablePointer<TokenData>) -> Int {
        let k = min(k, n)
        guard k > 0 else { return 0 }
        // Build the heap from the first k entries.
        for i in 0..<k { out[i] = TokenData(id: Int32(truncatingIfNeeded: i), logit: x[i]) }
        // Min-heap ordering: root is the "smallest" under Sorting.greater.
        @inline(__always) func worse(_ a: TokenData, _ b: TokenData) -> Bool { Sorting.greater(b, a) }
        func siftDown(_ start: Int) {
            var root = start
            while true {
                let l = 2 * root + 1
                if l >= k { return }
                var c = l
                if l + 1 < k && worse(out[l + 1], out[l]) { c = l + 1 }
                if worse(out[c], out[root]) { let tmp = out[c]; out[c] = out[root]; out[root] = tmp; root = c } else { return }
            }
        }
        var s = k / 2 - 1
        while s >= 0 { siftDown(s); s -= 1 }
        var threshold = out[0].logit
        @inline(__always) func offer(_ i: Int) {
            let v = x[i]
            // Later ids lose ties, so only a strictly larger value can enter.
            if v > threshold {
                out[0] = TokenData(id: Int32(truncatingIfNeeded: i), logit: v)
                siftDown(0)
                threshold = out[0].logit
            }
        }
        var i = k
        while i < n && i % 16 != 0 { offer(i); i += 1 }
        while i + 16 <= n {
            let v = load(x + i)
            if any(v .> V(repeating: threshold)) {
                for j in i..<(i + 16) { offer(j) }
            }
            i += 16
        }
        while i < n { offer(i); i += 1 }
        Sorting.sortDescendingByLogit(out, count: k)
        return k
    }

    /// Writes every index with x_i >= threshold into `out` as TokenData; returns the count.
    static func collect(_ x: UnsafePointer<Float>, _ n: Int, atLeast threshold: Float,
                        into out: UnsafeMutablePointer<TokenData>) -> Int {
        var c = 0
        var i = 0
        let t = V(repeating: threshold)
        while i + 16 <= n {
            if any(load(x + i) .>= t) {
                for j in i..<(i + 16) where x[j] >= threshold {
                    out[c] = TokenData(id: Int32(truncatingIfNeeded: j), logit: x[j])
                    c += 1
                }
            }
            i += 16
        }
        while i < n {
            if x[i] >= threshold { out[c] = TokenData(id: Int32(truncatingIfNeeded: i), logit: x[i]); c += 1 }
            i += 1
        }
        return c
    }

    /// x_i *= factor for all i.
    static func scale(_ x: UnsafeMutablePointer<Float>, _ n: Int, by factor: Float) {
        for i in 0..<n { x[i] *= factor }
    }
}
