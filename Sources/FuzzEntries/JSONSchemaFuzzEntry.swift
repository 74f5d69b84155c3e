import Grammar

/// Fuzzes the JSON-schema converter (patterns included): schemas come from requests. Input is
/// the schema text, optionally followed by a NUL and a document to match. Whatever converts
/// must give a grammar that parses: the converter's output is never the user's fault.
enum JSONSchemaFuzzEntry {
    static func run(_ bytes: [UInt8]) {
        let (schemaBytes, document) = splitAtNUL(bytes)
        let text = String(decoding: schemaBytes, as: UTF8.self)
        let strict = schemaBytes.first.map { $0 & 1 == 0 } ?? true
        guard let result = try? JSONSchemaConverter.convert(schemaJSON: text, options: .init(strict: strict)) else { return }
        let grammar: Grammar
        do { grammar = try Grammar.parse(result.gbnf) } catch {
            check(false, "converted grammar does not parse (\(error)):\n\(result.gbnf)")
            return
        }
        let matcher = GrammarMatcher(grammar: grammar)
        matcher.maxStacks = 512
        _ = matcher.accept(tokenBytes: document)
        _ = matcher.canEnd
    }
}
