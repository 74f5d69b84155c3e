/// Elements of a `PriorityQueue`: `a.precedes(b)` when `a` must be popped before `b`.
protocol Prioritized {
    func precedes(_ other: Self) -> Bool
}

/// A binary max-heap with a static ordering.
///
/// Both merge tokenizers pop "the best pair" repeatedly; llama.cpp uses `std::priority_queue`
/// with an explicit tie-break (leftmost pair first), and reproducing that order exactly is what
/// makes our merges identical, so the ordering lives in the element type, not in heap details.
struct PriorityQueue<Element: Prioritized> {
    private var heap: [Element] = []

    init() {}

    var isEmpty: Bool { heap.isEmpty }

    mutating func removeAll() { heap.removeAll(keepingCapacity: true) }

    mutating func push(_ element: Element) {
        heap.append(element)
        var child = heap.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            if !heap[child].precedes(heap[parent]) { break }
            heap.swapAt(child, parent)
            child = parent
        }
    }

    mutating func pop() -> Element? {
        guard !heap.isEmpty else { return nil }
        let top = heap[0]
        let last = heap.removeLast()
        if !heap.isEmpty {
            heap[0] = last
            var parent = 0
            let n = heap.count
            while true {
                let left = 2 * parent + 1
                if left >= n { break }
                var best = left
                let right = left + 1
                if right < n && heap[right].precedes(heap[left]) { best = right }
                if !heap[best].precedes(heap[parent]) { break }
                heap.swapAt(best, parent)
                parent = best
            }
        }
        return top
    }
}
