/// GBNF pieces for gpt-oss's Harmony replies, shared by the tool-call grammar and the
/// `response_format` one: the messages a reply may write before its call or answer (thoughts,
/// preambles) and the header after a recipient or channel.
enum HarmonyGrammar {
    static let rules = [
        #"harmony-header ::= ("<|channel|>" ("commentary" | "analysis"))? harmony-constraint? "<|message|>""#,
        #"harmony-constraint ::= " " "<|constrain|>"? [A-Za-z0-9_-]+"#,
        #"harmony-text ::= ([^<] | "<" [^|])*"#,
        #"harmony-message ::= "<|channel|>" ("analysis" | "commentary") "<|message|>" harmony-text "<|end|>""#,
        #"harmony-preamble ::= (harmony-message "<|start|>assistant")*"#,
    ]

    /// The root rule's name in `finalChannel(around:)`.
    static let finalRoot = "harmony-root"

    /// A `response_format` grammar (JSON schema, root rule `root`) placed where llama-server puts
    /// it for this format: thoughts and preambles may come first, then the final channel, whose
    /// body must match the schema.
    static func finalChannel(around gbnf: String) -> String {
        gbnf + "\n" + (rules + [
            finalRoot + #" ::= harmony-preamble "<|channel|>final" harmony-constraint? "<|message|>" root"#,
        ]).joined(separator: "\n") + "\n"
    }
}
