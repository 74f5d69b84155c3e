import Foundation

/// Vectorised whole-vocabulary kernels (max, argmax, exp-sum, threshold scans) used on the dense
/// logits so that the common path never touches 262k entries more than once or twice.
enum FastMath {
    typealias V = SIMD16<Float>

    @inline(__always)
    static func load(_ p: UnsafePointer<Float>) -> V {
        UnsafeRawPointer(p).loadUnaligned(as: V.self)
    }

    /// max_i x_i (NaN entries are ignored).
    static func maximum(_ x: UnsafePointer<Float>, _ n: Int) -> Float {
        var i = 0
        var m = V(repeating: -.infinity)
        while i + 16 <= n {
            m = pointwiseMax(m, load(x + i))
            i += 16
        }
        var r = m.max()
        while i < n { if x[i] > r { r = x[i] }; i += 1 }
        return r
    }

    /// Index of the first maximum.
    static func argmax(_ x: UnsafePointer<Float>, _ n: Int) -> Int {
        let m = maximum(x, n)
        for i in 0..<n where x[i] == m { return i }
        return 0
    }

    /// exp(x) for a vector: x = n·ln2 + r, |r| ≤ ln2/2, e^r by a degree-6 polynomial, 2^n by exponent bits.
    @inline(__always)
    static func exp(_ x: V) -> V {
        let lo = V(repeating: -87.0)
        let xc = pointwiseMin(pointwiseMax(x, lo), V(repeating: 88.0))
        let n = (xc * V(repeating: 1.442_695_04)).rounded(.toNearestOrEven)
        var r = xc - n * V(repeating: 0.693_145_751_953_125)
        r = r - n * V(repeating: 1.428_606_765_330_187e-06)
        // Taylor/minimax-ish coefficients for e^r on [-0.35, 0.35].
        var p = V(repeating: 1.0 / 720.0)
        p = p * r + V(repeating: 1.0 / 120.0)
        p = p * r + V(repeating: 1.0 / 24.0)
        p = p * r + V(repeating: 1.0 / 6.0)
        p = p * r + V(repeating: 0.5)
        p = p * r + V(repeating: 1.0)
        p = p * r + V(repeating: 1.0)
        let bits = (SIMD16<Int32>(n, rounding: .towardZero) &+ 127) &<< 23
        let scale = unsafeBitCast(bits, to: V.self)
        let result = p * scale
        // Inputs below the clamp (including -inf) give exactly 0.
        return result.replacing(with: 0, where: x .< lo)
    }

    /// Σ_i exp(x_i - shift), accumulated in double per 16-lane block.
    static func expSum(_ x: UnsafePointer<Float>, _ n: Int, shift: Float) -> Double {
        var i = 0
        let s = V(repeating: shift)
        var total: Double = 0
        var acc = V(repeating: 0)
        var blocks = 0
        while i + 16 <= n {
            acc += exp(load(x + i) - s)
            i += 16
            blocks += 1
            if blocks == 256 { total += Double(acc.sum()); acc = V(repeating: 0); blocks = 0 }
        }
        total += Double(acc.sum())
        while i < n { total += Double(expf(x[i] - shift)); i += 1 }
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
        var i = 0
        let f = V(repeating: factor)
        while i + 16 <= n {
            UnsafeMutableRawPointer(x + i).storeBytes(of: load(x + i) * f, as: V.self)
            i += 16
        }
        while i < n { x[i] *= factor; i += 1 }
    }
}
