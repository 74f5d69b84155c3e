import Grammar

/// Fuzzes the GBNF parser and the matcher: grammars come from requests. Input is the grammar
/// text, optionally followed by a NUL and bytes to feed the matcher.
enum GBNFFuzzEntry {
    static func run(_ bytes: [UInt8]) {
        let (grammarBytes, text) = splitAtNUL(bytes)
        guard let grammar = try? Grammar.parse(String(decoding: grammarBytes, as: UTF8.self)) else { return }
        // The printed grammar is GBNF the parser must accept again.
        check((try? Grammar.parse(grammar.description, root: grammar.ruleNames[grammar.rootIndex])) != nil,
              "printed grammar does not parse:\n\(grammar.description)")
        let matcher = GrammarMatcher(grammar: grammar)
        matcher.maxStacks = 512
        // Feed in small pieces, as tokens would arrive; `accepts` must agree with `accept`.
        var i = 0
        while i < text.count && !matcher.isDead {
            let piece = Array(text[i..<min(text.count, i + 1 + Int(text[i] % 4))])
            let allowed = matcher.accepts(tokenBytes: piece)
            check(matcher.accept(tokenBytes: piece) == allowed, "accepts and accept disagree")
            i += piece.count
        }
        _ = matcher.canEnd
    }
}
