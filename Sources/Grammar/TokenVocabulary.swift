/// The byte strings of a model's tokens, indexed for grammar filtering.
///
/// Tokens are arranged in a byte trie (stored flat, in preorder, with
/// first-child/next-sibling links) so the matcher can test a shared prefix
/// once for every token below it and reject whole subtrees with one failed
/// character test. Build it once per model and share it between requests.
///
/// Tokens with no bytes (typically control tokens) are never allowed by a
/// grammar. End-of-generation ids are handled separately: they are allowed
/// exactly when the grammar's root can be complete.
public final class TokenVocabulary: Sendable {
    /// `tokens[id]` is the UTF-8 (or raw byte) text of token `id`.
    public let tokens: [[UInt8]]
    /// End-of-generation token ids (EOS, EOT, …).
    public let eosTokenIDs: Set<Int32>

    // Trie. Node 0 is the root (empty prefix).
    let nodeByte: [UInt8]
    let firstChild: [Int32]
    let nextSibling: [Int32]
    /// Tokens whose bytes end exactly at a node: `sortedIDs[tokStart ..< tokStart+tokCount]`.
    let tokStart: [Int32]
    let tokCount: [Int32]
    let sortedIDs: [Int32]

    public var count: Int { tokens.count }

    public init(tokens: [[UInt8]], eosTokenIDs: Set<Int32> = []) {
        self.tokens = tokens
        self.eosTokenIDs = eosTokenIDs
        var ids = (0..<Int32(tokens.count)).filter { !tokens[Int($0)].isEmpty && !eosTokenIDs.contains($0) }
        ids.sort { a, b in
            let x = tokens[Int(a)], y = tokens[Int(b)]
            return x.lexicographicallyPrecedes(y) || (x == y && a < b)
        }
        var nodeByte: [UInt8] = [0]
        var firstChild: [Int32] = [-1]
        var nextSibling: [Int32] = [-1]
        var lastChild: [Int32] = [-1]
        var tokStart: [Int32] = [0]
        var tokCount: [Int32] = [0]
        var path: [Int32] = [0] // path[d] = node for the first d bytes of the previous token
        var prev: [UInt8] = []
        for (k, id) in ids.enumerated() {
            let t = tokens[Int(id)]
            var lcp = 0
            while lcp < t.count && lcp < prev.count && t[lcp] == prev[lcp] { lcp += 1 }
            path.removeSubrange((lcp + 1)...)
            for d in lcp..<t.count {
                let parent = path[d]
                let n = Int32(nodeByte.count)
                nodeByte.append(t[d])
                firstChild.append(-1)
                nextSibling.append(-1)
                lastChild.append(-1)
                tokStart.append(0)
                tokCount.append(0)
                if lastChild[Int(parent)] >= 0 {
                    nextSibling[Int(lastChild[Int(parent)])] = n
                } else {
                    firstChild[Int(parent)] = n
                }
                lastChild[Int(parent)] = n
                path.append(n)
            }
            let end = Int(path[t.count])
            if tokCount[end] == 0 { tokStart[end] = Int32(k) }
            tokCount[end] += 1
            prev = t
        }
        self.nodeByte = nodeByte
        self.firstChild = firstChild
        self.nextSibling = nextSibling
        self.tokStart = tokStart
        self.tokCount = tokCount
        self.sortedIDs = ids
    }

    /// Number of trie nodes (for diagnostics).
    public var trieNodeCount: Int { nodeByte.count }
}
