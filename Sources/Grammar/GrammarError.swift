/// An error found while parsing or validating a GBNF grammar.
///
/// `description` is a single human-readable line meant to be appended to the
/// server's `"Failed to parse grammar: "` message, e.g.
/// `line 3, column 12: expected '::=' after rule name 'value'`.
public struct GrammarError: Error, Sendable, Equatable, CustomStringConvertible {
    /// What went wrong, in broad categories the server or tests can switch on.
    public enum Kind: Sendable, Equatable {
        /// The text does not follow GBNF syntax.
        case syntax
        /// A rule is referenced but never defined.
        case undefinedRule(String)
        /// A rule is defined more than once.
        case duplicateRule(String)
        /// The grammar has no `root` rule.
        case missingRoot
        /// A rule can reach itself without consuming input, which would make the
        /// matcher loop forever.
        case leftRecursion(String)
        /// A repetition count exceeds the supported bound, or the repetitions of
        /// the whole grammar expand into more symbols than the supported total.
        case repetitionTooLarge
        /// Groups are nested deeper than `GBNFParser.maxNestingDepth`.
        case nestingTooDeep
        /// Not a parse error: matching the grammar needed more than
        /// `GrammarMatcher.maxWorkPerStep` for one token (a grammar too
        /// ambiguous to match), so generation under it cannot go on.
        case workLimitExceeded
    }

    public let kind: Kind
    /// 1-based line of the offending input, or 0 when the error is not tied to a position.
    public let line: Int
    /// 1-based column (in Unicode scalars), or 0 when not tied to a position.
    public let column: Int
    /// What the parser expected or found, without the position prefix.
    public let message: String

    public init(kind: Kind, line: Int, column: Int, message: String) {
        self.kind = kind
        self.line = line
        self.column = column
        self.message = message
    }

    public var description: String {
        if line > 0 { return "line \(line), column \(column): \(message)" }
        return message
    }
}
