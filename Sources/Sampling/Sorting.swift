/// A strict total order on candidates, as a type so sorting code is specialised (no closure calls).
protocol TokenOrder {
    static func less(_ a: TokenData, _ b: TokenData) -> Bool
}

/// Descending logit, ties by ascending id.
enum ByLogitDescending: TokenOrder {
    @inline(__always)
    static func less(_ a: TokenData, _ b: TokenData) -> Bool { Sorting.greater(a, b) }
}

/// Ascending `logit` field (used with a score stored in it), ties by ascending id.
enum ByLogitAscending: TokenOrder {
    @inline(__always)
    static func less(_ a: TokenData, _ b: TokenData) -> Bool { a.logit < b.logit || (a.logit == b.logit && a.id < b.id) }
}

/// In-place, allocation-free ordering helpers over candidate buffers (introselect + quicksort).
enum Sorting {
    @inline(__always)
    static func greater(_ a: TokenData, _ b: TokenData) -> Bool {
        // Descending logit; ties broken by ascending id so the order is fully deterministic.
        a.logit > b.logit || (a.logit == b.logit && a.id < b.id)
    }

    /// Sorts `count` entries with `less` defining the order; median-of-three quicksort with
    /// insertion sort for short ranges and heapsort fallback on deep recursion.
    static func sort<O: TokenOrder>(_ base: UnsafeMutablePointer<TokenData>, count: Int, by order: O.Type) {
        guard count > 1 else { return }
        var depth = 2 * (Int.bitWidth - count.leadingZeroBitCount)
        quicksort(base, 0, count - 1, &depth, order)
    }

    static func sortDescendingByLogit(_ base: UnsafeMutablePointer<TokenData>, count: Int) {
        sort(base, count: count, by: ByLogitDescending.self)
    }

    private static func insertion<O: TokenOrder>(_ a: UnsafeMutablePointer<TokenData>, _ lo: Int, _ hi: Int,
                                  _ order: O.Type) {
        if hi <= lo { return }
        for i in (lo + 1)...hi {
            let x = a[i]
            var j = i - 1
            while j >= lo && O.less(x, a[j]) {
                a[j + 1] = a[j]
                j -= 1
            }
            a[j + 1] = x
        }
    }

    private static func partition<O: TokenOrder>(_ a: UnsafeMutablePointer<TokenData>, _ lo: Int, _ hi: Int,
                                  _ order: O.Type) -> Int {
        let mid = lo + (hi - lo) / 2
        if O.less(a[mid], a[lo]) { swap(&a[mid], &a[lo]) }
        if O.less(a[hi], a[lo]) { swap(&a[hi], &a[lo]) }
        if O.less(a[hi], a[mid]) { swap(&a[hi], &a[mid]) }
        let pivot = a[mid]
        var i = lo
        var j = hi
        while true {
            while O.less(a[i], pivot) { i += 1 }
            while O.less(pivot, a[j]) { j -= 1 }
            if i >= j { return j }
            swap(&a[i], &a[j])
            i += 1
            j -= 1
        }
    }

    private static func heapsort<O: TokenOrder>(_ a: UnsafeMutablePointer<TokenData>, _ lo: Int, _ hi: Int,
                                 _ order: O.Type) {
        let n = hi - lo + 1
        let b = a + lo
        func sift(_ start: Int, _ end: Int) {
            var root = start
            while 2 * root + 1 < end {
                var child = 2 * root + 1
                if child + 1 < end && O.less(b[child], b[child + 1]) { child += 1 }
                if O.less(b[root], b[child]) { swap(&b[root], &b[child]); root = child } else { return }
            }
        }
        var s = n / 2 - 1
        while s >= 0 { sift(s, n); s -= 1 }
        var e = n - 1
        while e > 0 { swap(&b[0], &b[e]); sift(0, e); e -= 1 }
    }

    private static func quicksort<O: TokenOrder>(_ a: UnsafeMutablePointer<TokenData>, _ lo: Int, _ hi: Int,
                                  _ depth: inout Int, _ order: O.Type) {
        var lo = lo
        var hi = hi
        while hi - lo > 16 {
            if depth == 0 { heapsort(a, lo, hi, order); return }
            depth -= 1
            let p = partition(a, lo, hi, order)
            // Recurse into the smaller half, loop on the larger.
            if p - lo < hi - p {
                quicksort(a, lo, p, &depth, order)
                lo = p + 1
            } else {
                quicksort(a, p + 1, hi, &depth, order)
                hi = p
            }
        }
        insertion(a, lo, hi, order)
    }

    /// Rearranges so the first `k` entries are the `k` largest (descending order not guaranteed).
    static func selectLargest(_ a: UnsafeMutablePointer<TokenData>, count: Int, k: Int) {
        guard k > 0 && k < count else { return }
        var lo = 0
        var hi = count - 1
        var guardSteps = 4 * (Int.bitWidth - count.leadingZeroBitCount) + 8
        while hi > lo {
            if guardSteps == 0 {
                // Pathological input: finish with a full sort of the remaining range.
                sort(a + lo, count: hi - lo + 1, by: ByLogitDescending.self)
                return
            }
            guardSteps -= 1
            let p = partition(a, lo, hi, ByLogitDescending.self)
            // After partition: [lo...p] all "greater-or-equal" side, [p+1...hi] the rest.
            if k - 1 <= p { hi = p } else { lo = p + 1 }
        }
    }
}
