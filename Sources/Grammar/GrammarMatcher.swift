/// Incremental matcher that decides which bytes may extend the text generated
/// so far under a `Grammar`.
///
/// State is a set of pushdown stacks (llama.cpp's approach). A stack is a list
/// of positions in the grammar's flat program; its top always points at a
/// character class, or the stack is empty (the root is complete). Advancing by
/// a code point keeps the stacks whose top class contains it, moves past that
/// element and re-expands rule references until each top is a class again.
///
/// Stacks are hash-consed into an arena of `(position, parent)` nodes, so equal
/// stacks share one id: deduplicating a stack set is sorting integers, and the
/// expansion after consuming a stack's top character is cached per node id.
/// This keeps both ambiguous grammars (which would otherwise multiply stacks)
/// and whole-vocabulary filtering cheap.
///
/// Input is UTF-8. A token may end in the middle of a multi-byte character; the
/// incomplete bytes are carried over and the token is allowed only if some
/// stack accepts a code point that starts with those bytes.
///
/// Not thread-safe: one matcher per generation.
public final class GrammarMatcher {
    public let grammar: Grammar
    /// Upper bound on simultaneous stacks. A step that would exceed it is
    /// treated as a rejection so pathological grammars cannot blow up memory.
    public var maxStacks = 8192
    /// Upper bound on the work of one operation (a token mask, or checking or
    /// committing one token), in units of one stack frame expanded, one stack
    /// node created or one stack id copied. The parser's repetition budget
    /// cannot see every ambiguous grammar (`x ::= "a"{0,1000}` with
    /// `root ::= x{0,1000}` multiplies through a rule reference), and one step
    /// of such a grammar explores millions of stacks; past this budget the
    /// operation stops and reports `workLimitExceeded` instead of holding the
    /// engine thread for seconds and growing the arena. Also bounds what one
    /// operation adds to the arena and the caches.
    ///
    /// Honest work grows with the grammar (a mask over an alternation of n
    /// words expands all n), so the budget is `baseWorkPerStep` plus
    /// `workPerGrammarSymbol` per symbol of the compiled grammar. Measured
    /// (262k-token vocabulary): a JSON-schema grammar's masks take at most a
    /// few hundred units; a first mask over 200,000 enum words about 2 million
    /// (its budget is ~10 million); 4 million units take ~0.2 s.
    public var maxWorkPerStep: Int
    public static let baseWorkPerStep = 4_000_000
    public static let workPerGrammarSymbol = 4
    /// Work done so far by the current operation (see `maxWorkPerStep`).
    // Touched in the expansion and walk loops, never across a call that could
    // also access them: unchecked like StackSetCache's hot fields.
    @exclusivity(unchecked) var work = 0
    /// The last operation ran out of `maxWorkPerStep`: its answer is unknown,
    /// and the matcher refuses everything until `reset()`, which also drops
    /// the caches the interrupted operation may have left half-filled.
    @exclusivity(unchecked) public internal(set) var workLimitExceeded = false

    // Arena of stack nodes. Node i is (nodePos[i], nodeParent[i]); parent -1 is
    // the empty (bottom) stack. The stack id -1 itself means "root complete".
    var nodePos: [Int32] = []
    var nodeParent: [Int32] = []
    private var internTable: [UInt64: Int32] = [:]
    // Cached successor sets for "consume the top char of node i": a range into
    // `succStorage`, or (-1, _) when not computed yet.
    var succStart: [Int32] = []
    var succCount: [Int32] = []
    var succStorage: [Int32] = []

    /// Current stack set: sorted, unique stack ids.
    var stacks: [Int32] = []
    /// Partial UTF-8 character carried over from the last accepted token, as a
    /// `UTF8Partial` pending state: accumulated bits and continuation bytes still expected.
    var partialValue: UInt32 = 0
    var partialRemaining: Int = 0

    private var expandVisited = Set<UInt64>()
    private var expandWork: [(Int32, Int32)] = []
    /// Stack-set ids and memoized transitions for vocabulary walks.
    let setCache = StackSetCache()
    private static let compactThreshold = 1 << 20

    public init(grammar: Grammar) {
        self.grammar = grammar
        maxWorkPerStep = GrammarMatcher.baseWorkPerStep + GrammarMatcher.workPerGrammarSymbol * grammar.code.count
        reset()
    }

    /// Returns the matcher to the start of the grammar.
    public func reset() {
        partialValue = 0
        partialRemaining = 0
        if nodePos.count > GrammarMatcher.compactThreshold || workLimitExceeded { clearArena() }
        workLimitExceeded = false
        work = 0
        var out: [Int32] = []
        for a in grammar.ruleAltRange[grammar.rootIndex] {
            expand(grammar.altStarts[a], -1, into: &out)
        }
        stacks = GrammarMatcher.sortedUnique(out)
    }

    /// The root rule can be complete at this point, so end-of-sequence is allowed.
    /// Never after an operation ran out of budget: the state is not known to be complete.
    public var canEnd: Bool { partialRemaining == 0 && stacks.first == -1 && !workLimitExceeded }

    /// No continuation is possible (only reachable by forcing `accept` on a
    /// rejected token); the generation cannot satisfy the grammar any more.
    public var isDead: Bool { stacks.isEmpty }

    /// Whether `tokenBytes` can extend the current parse. Does not change state.
    /// An empty token is never accepted (it would not make progress).
    public func accepts(tokenBytes: [UInt8]) -> Bool {
        if tokenBytes.isEmpty { return false }
        return step(tokenBytes) != nil
    }

    /// Convenience for tests and prompts: `accepts(tokenBytes:)` on UTF-8 of `text`.
    public func accepts(_ text: String) -> Bool { accepts(tokenBytes: Array(text.utf8)) }

    /// Commits `tokenBytes`. Returns false (and leaves the state unchanged) when
    /// the token is not allowed.
    @discardableResult
    public func accept(tokenBytes: [UInt8]) -> Bool {
        if tokenBytes.isEmpty { return false }
        guard let (next, pv, pr) = step(tokenBytes) else { return false }
        stacks = next
        partialValue = pv
        partialRemaining = pr
        if nodePos.count > GrammarMatcher.compactThreshold { compact() }
        return true
    }

    /// Convenience: `accept(tokenBytes:)` on the UTF-8 of `text`.
    @discardableResult
    public func accept(_ text: String) -> Bool { accept(tokenBytes: Array(text.utf8)) }

    /// Whether `text` is a complete sentence of the grammar from the current
    /// state (accepted and the root can end afterwards). Does not change state.
    public func matchesCompletely(_ text: String) -> Bool {
        let bytes = Array(text.utf8)
        if bytes.isEmpty { return canEnd }
        guard let (next, _, pr) = step(bytes) else { return false }
        return pr == 0 && next.first == -1
    }

    // MARK: - Core stepping

    /// Runs the bytes from the current state; nil when rejected.
    private func step(_ bytes: [UInt8]) -> ([Int32], UInt32, Int)? {
        if workLimitExceeded { return nil }
        work = 0
        var cur = stacks
        var pv = partialValue
        var pr = partialRemaining
        var next: [Int32] = []
        for b in bytes {
            switch pr == 0 ? UTF8Partial.start(b) : UTF8Partial.next(pv, pr, b) {
            case .complete(let cp):
                pv = 0
                pr = 0
                next.removeAll(keepingCapacity: true)
                advance(cur, cp, into: &next)
                if next.isEmpty || next.count > maxStacks || workLimitExceeded { return nil }
                swap(&cur, &next)
            case .pending(let value, let remaining):
                pv = value
                pr = remaining
                if !partialCompatible(cur, pv, pr) { return nil }
            case .invalid:
                return nil
            }
        }
        return (cur, pv, pr)
    }

    /// Appends the successors of `set` after consuming code point `cp`;
    /// the result is sorted and unique. Stops early, leaving more than
    /// `maxStacks` (unique) stacks appended, once the result is known to exceed
    /// `maxStacks`, and leaves a partial result when `workLimitExceeded`.
    @inline(__always)
    func advance(_ set: [Int32], _ cp: UInt32, into out: inout [Int32]) {
        let start = out.count
        var matched = 0
        // Successor lists of different stacks overlap, so the raw count says
        // little; deduplicating whenever it doubles past the limit keeps the
        // check exact at an amortized log factor.
        var checkAt = start + 2 * maxStacks
        for s in set where s >= 0 {
            let cls = grammar.code[Int(nodePos[Int(s)])]
            if grammar.classes[Int(cls)].contains(cp) {
                appendSuccessors(of: s, into: &out)
                // Cached successor lists cost no expansion, yet 8192 stacks each
                // bringing thousands of duplicates is work all the same.
                if work > maxWorkPerStep { workLimitExceeded = true }
                if workLimitExceeded { return }
                matched += 1
                if out.count > checkAt {
                    GrammarMatcher.sortUniqueTail(&out, from: start)
                    if out.count - start > maxStacks { return }
                    checkAt = out.count + 2 * maxStacks
                }
            }
        }
        if matched > 1 { GrammarMatcher.sortUniqueTail(&out, from: start) }
    }

    /// Whether some stack could accept a code point that completes the pending
    /// UTF-8 sequence (`UTF8Partial` state `value`, `remaining`).
    func partialCompatible(_ set: [Int32], _ value: UInt32, _ remaining: Int) -> Bool {
        guard let range = UTF8Partial.codePoints(value, remaining) else { return false }
        for s in set where s >= 0 {
            let cls = grammar.code[Int(nodePos[Int(s)])]
            if grammar.classes[Int(cls)].intersects(range.lowerBound, range.upperBound) { return true }
        }
        return false
    }

    /// Successor stacks of node `s` after its top character is consumed; cached.
    @inline(__always)
    func appendSuccessors(of s: Int32, into out: inout [Int32]) {
        let i = Int(s)
        if succStart[i] < 0 {
            var tmp: [Int32] = []
            expand(nodePos[i] + 1, nodeParent[i], into: &tmp)
            // An interrupted expansion is incomplete: never cache it.
            if workLimitExceeded { return }
            let uniq = GrammarMatcher.sortedUnique(tmp)
            succStart[i] = Int32(succStorage.count)
            succCount[i] = Int32(uniq.count)
            succStorage.append(contentsOf: uniq)
        }
        let st = Int(succStart[i])
        let n = Int(succCount[i])
        work &+= n
        out.append(contentsOf: succStorage[st..<(st + n)])
    }

    /// Expands the frame (pos, parent) until every resulting stack has a
    /// character class on top (or is empty: id -1). Left recursion is excluded
    /// by `Grammar`, so this terminates; `expandVisited` stops exponential
    /// re-exploration through chains of nullable rules.
    ///
    /// A chain of rules that each start with the next one (`a ::= b "x"`,
    /// `b ::= c "y"`, …) is as long as the grammar text allows, so the frames
    /// still to expand live in an explicit worklist rather than on the call stack.
    func expand(_ pos: Int32, _ parent: Int32, into out: inout [Int32]) {
        expandVisited.removeAll(keepingCapacity: true)
        expandWork.removeAll(keepingCapacity: true)
        expandWork.append((pos, parent))
        let code = grammar.code
        while let frame = expandWork.popLast() {
            if work > maxWorkPerStep {
                workLimitExceeded = true
                expandWork.removeAll(keepingCapacity: true)
                return
            }
            var pos = frame.0
            var parent = frame.1
            while true {
                work &+= 1
                let op = code[Int(pos)]
                if op >= 0 {
                    out.append(intern(pos, parent))
                    break
                }
                if op == Grammar.opEnd {
                    if parent < 0 { out.append(-1); break }
                    pos = nodePos[Int(parent)]
                    parent = nodeParent[Int(parent)]
                    continue
                }
                let rule = Int(-op - 2)
                // Tail position: the caller's frame has nothing left, so return
                // straight to its parent. Keeps right-recursive repetition flat.
                let ret: Int32 = code[Int(pos) + 1] == Grammar.opEnd ? parent : intern(pos + 1, parent)
                // Pushed in reverse so alternatives are expanded in grammar order.
                for a in grammar.ruleAltRange[rule].reversed() {
                    let start = grammar.altStarts[a]
                    let key = UInt64(UInt32(bitPattern: start)) << 32 | UInt64(UInt32(bitPattern: ret))
                    if expandVisited.insert(key).inserted {
                        expandWork.append((start, ret))
                    }
                }
                break
            }
        }
    }

    @inline(__always)
    func intern(_ pos: Int32, _ parent: Int32) -> Int32 {
        let key = UInt64(UInt32(bitPattern: pos)) << 32 | UInt64(UInt32(bitPattern: parent))
        if let id = internTable[key] { return id }
        work &+= 1
        let id = Int32(nodePos.count)
        nodePos.append(pos)
        nodeParent.append(parent)
        succStart.append(-1)
        succCount.append(0)
        internTable[key] = id
        return id
    }

    private func clearArena() {
        setCache.clear()
        nodePos.removeAll(); nodeParent.removeAll(); internTable.removeAll()
        succStart.removeAll(); succCount.removeAll(); succStorage.removeAll()
    }

    /// Rebuilds the arena keeping only the nodes reachable from the live stacks
    /// (the arena grows with every distinct stack ever seen, including those
    /// explored while filtering).
    func compact() {
        let oldPos = nodePos, oldParent = nodeParent
        clearArena()
        // Stacks can be as deep as the text generated so far (`a ::= "(" a ")"`),
        // so each one is copied bottom-up from an explicit path, not by recursion.
        var map: [Int32: Int32] = [:]
        var path: [Int32] = []
        func copy(_ top: Int32) -> Int32 {
            var old = top
            while old >= 0 && map[old] == nil {
                path.append(old)
                old = oldParent[Int(old)]
            }
            var parent = old < 0 ? old : map[old]!
            while let o = path.popLast() {
                parent = intern(oldPos[Int(o)], parent)
                map[o] = parent
            }
            return parent
        }
        stacks = GrammarMatcher.sortedUnique(stacks.map(copy))
    }

    // MARK: - small helpers

    static func sortedUnique(_ a: [Int32]) -> [Int32] {
        if a.count < 2 { return a }
        var s = a
        sortUniqueTail(&s, from: 0)
        return s
    }

    /// Sorts `a[from...]` and removes duplicates in place.
    @inline(__always)
    static func sortUniqueTail(_ a: inout [Int32], from: Int) {
        let n = a.count - from
        if n < 2 { return }
        a.withUnsafeMutableBufferPointer { buf in
            let base = buf.baseAddress! + from
            if n <= 16 {
                for i in 1..<n {
                    let v = base[i]
                    var j = i - 1
                    while j >= 0 && base[j] > v { base[j + 1] = base[j]; j -= 1 }
                    base[j + 1] = v
                }
            } else {
                var slice = UnsafeMutableBufferPointer(start: base, count: n)
                slice.sort()
            }
        }
        var w = from + 1
        for r in (from + 1)..<a.count where a[r] != a[w - 1] {
            a[w] = a[r]
            w += 1
        }
        a.removeSubrange(w...)
    }
}
