import Foundation
import Grammar
import JSON

/// A tool a request offers: its name and the JSON schema of its arguments.
struct ToolDefinition: Sendable {
    var name: String
    var parameters: JSONValue

    /// `{"type": "function", "function": {"name", "parameters"}}` from a request's `tools`.
    init(_ tool: JSONValue) throws(APIError) {
        guard let function = tool["function"], case .string(let name)? = function["name"], !name.isEmpty else {
            throw .badRequest("Each tool needs {\"type\": \"function\", \"function\": {\"name\": …}}")
        }
        self.name = name
        parameters = function["parameters"] ?? ["type": "object", "properties": [:]]
    }
}

/// Builds the grammar that makes a model write valid tool calls in its format, from the tools'
/// argument schemas (so the arguments always validate). `trigger` is set for lazy grammars
/// (`tool_choice: auto`): output is free until the trigger text appears.
struct ToolCallGrammar {
    var gbnf: String
    var trigger: String?

    /// `allowText` (`tool_choice: auto`): the model may answer in text; once it writes the
    /// format's call marker (the trigger), the call is constrained. Without it the reply must be
    /// tool calls (`required` or a named function). The generic JSON form has no marker: with
    /// `allowText` its grammar lets the model choose `{"response": …}` instead, as llama-server's
    /// does. Functionary's first call has no marker either; callers give it no grammar for `auto`.
    init(format: ChatFormat, tools: [ToolDefinition], parallel: Bool, allowText: Bool) throws(APIError) {
        var rules: [String] = []
        var calls: [String] = []
        for (i, tool) in tools.enumerated() {
            let args = try Self.schemaRules(tool.parameters, prefix: "t\(i)-", rules: &rules)
            calls.append(Self.call(format: format, name: tool.name, args: args))
        }
        rules.append("call ::= " + calls.joined(separator: " | "))
        let repeated = parallel ? "call (ws-sep call)*" : "call"
        rules.append(#"ws-sep ::= [ \t\n]{0,4}"#)
        var root: String
        switch format {
        case .hermes: root = repeated
        case .llama3: root = parallel ? #"call (";" [ \n]? call)*"# : "call"
        case .mistral: root = #""[TOOL_CALLS][" call ("," [ ]? call)* "]""#.replacingCalls(parallel)
        case .deepSeekR1: root = #""<｜tool▁calls▁begin｜>" "# + repeated + #" "<｜tool▁calls▁end｜>""#
        case .functionaryV3: root = parallel ? #"call ("\n>>>" call)*"# : "call"
        case .commandR: root = #""<|START_ACTION|>[" call ("," [ ]? call)* "]<|END_ACTION|>""#.replacingCalls(parallel)
        case .gptOss:
            // One call (the model ends it with <|call|>, an end-of-generation token). The header
            // after the name covers both places the recipient may stand: `<|channel|>commentary
            // json<|message|>` (role header) and ` <|constrain|>json<|message|>` (channel header).
            rules += HarmonyGrammar.rules
            // Lazy (`auto`): from the trigger on. Forced: thoughts and preambles may come first.
            root = allowText ? "call" : #"harmony-preamble ("<|channel|>" ("commentary" | "analysis"))? call"#
        case .generic:
            root = parallel ? #""{\"tool_calls\": [" call (", " call)* "]}""# : #""{\"tool_call\": " call "}""#
            if allowText {
                rules.append(#"response ::= "{\"response\": " string-any "}""#)
                rules.append(#"string-any ::= "\"" ([^"\\\x7F\x00-\x1F] | "\\" (["\\/bfnrt] | "u" [0-9a-fA-F]{4}))* "\"""#)
                root = "(" + root + ") | response"
            }
        }
        rules.append("tool-root ::= " + root)
        gbnf = rules.joined(separator: "\n") + "\n"
        guard allowText, format != .generic, format != .functionaryV3 else { trigger = nil; return }
        trigger = switch format {
        case .hermes: HermesSyntax.open
        case .llama3: #"{"name""#
        case .mistral: MistralSyntax.marker
        case .deepSeekR1: DeepSeekR1Syntax.callsBegin
        case .commandR: CommandRSyntax.actionStart
        case .gptOss: HarmonySyntax.functionsRecipient
        case .functionaryV3, .generic: nil
        }
    }

    var grammar: Grammar {
        get throws(APIError) {
            do { return try Grammar.parse(gbnf, root: "tool-root") } catch {
                throw .badRequest("Failed to build the tool-call grammar: \(error.description)")
            }
        }
    }

    /// One call in the format's own syntax; `args` is the rule for its arguments object.
    private static func call(format: ChatFormat, name: String, args: String) -> String {
        let quotedName = JSONValue.quote(name)
        func lit(_ s: String) -> String { GBNFText.quote(s) }
        switch format {
        case .hermes:
            return lit("<tool_call>\n{\"name\": \(quotedName), \"arguments\": ") + " " + args + " " + lit("}\n</tool_call>")
        case .llama3:
            return lit("{\"name\": \(quotedName), \"parameters\": ") + " " + args + " " + lit("}")
        case .mistral, .generic:
            return lit("{\"name\": \(quotedName), \"arguments\": ") + " " + args + " " + lit("}")
        case .deepSeekR1:
            return lit("<｜tool▁call▁begin｜>function<｜tool▁sep｜>\(name)\n```json\n") + " " + args + " "
                + lit("\n```<｜tool▁call▁end｜>")
        case .functionaryV3:
            return lit("\(name)\n") + " " + args
        case .commandR:
            return lit("{\"tool_call_id\": \"0\", \"tool_name\": \(quotedName), \"parameters\": ") + " " + args + " " + lit("}")
        case .gptOss:
            return lit(HarmonySyntax.functionsRecipient + name) + " harmony-header " + args
        }
    }

    /// Converts one schema and renames its rules with `prefix` so several tools fit in one
    /// grammar; returns the name of its root rule.
    private static func schemaRules(_ schema: JSONValue, prefix: String, rules: inout [String]) throws(APIError) -> String {
        let gbnf: String
        do { gbnf = try JSONSchemaConverter.convert(schema: schema).gbnf } catch {
            throw .badRequest("Failed to convert a tool's parameters to a grammar: \(error.description)")
        }
        let lines = gbnf.split(separator: "\n").filter { $0.contains("::=") }
        let names = Set(lines.map { String($0[..<$0.range(of: "::=")!.lowerBound]).trimmingSpaces })
        for line in lines { rules.append(GBNFLiteral.renamingRules(String(line), names: names, prefix: prefix)) }
        return prefix + "root"
    }
}

private extension String {
    /// A Mistral/Command R call list with one call only when parallel calls are off.
    func replacingCalls(_ parallel: Bool) -> String {
        parallel ? self : replacingOccurrences(of: #" ("," [ ]? call)*"#, with: "")
    }
}

/// GBNF text helpers.
enum GBNFLiteral {
    /// `line` with every reference to (or definition of) a rule in `names` prefixed; text inside
    /// string literals and character classes is left alone.
    static func renamingRules(_ line: String, names: Set<String>, prefix: String) -> String {
        var out = ""
        var word = ""
        var quote: Character?
        var escaped = false
        func flush() {
            out += names.contains(word) ? prefix + word : word
            word = ""
        }
        for ch in line {
            if let q = quote {
                out.append(ch)
                if escaped { escaped = false } else if ch == "\\" { escaped = true } else if ch == q { quote = nil }
                continue
            }
            if ch.isLetter || ch.isNumber || ch == "-" || ch == "_" { word.append(ch); continue }
            flush()
            out.append(ch)
            if ch == "\"" { quote = "\"" } else if ch == "[" { quote = "]" }
        }
        flush()
        return out
    }
}
