import Foundation
import JSON

/// Llama 3.1–3.3: a reply that is one JSON object `{"name": "f", "parameters": {…}}` (optionally
/// with `"type": "function"`), several of them separated by `;`, or, after `<|python_tag|>`, such
/// an object or a built-in tool call `brave_search.call(query="…")` (other code becomes a
/// `python` call with `{"code": …}`).
struct Llama3Syntax: ToolCallSyntax {
    static let pythonTag = "<|python_tag|>"
    static let callKeys: Set = ["type", "name", "parameters", "arguments"]

    func parse(_ text: String, partial: Bool) -> ParsedMessage? {
        var c = OutputCursor(text, partial: partial)
        var out = ParsedMessage()
        c.skipSpace()
        if c.atEnd && partial { return out }
        if c.bytes[c.at] == UInt8(ascii: "{") {
            if let calls = jsonCalls(&c) { out.toolCalls = calls; return out }
            if partial && mightBeCall(c) { return out }
            c.at = 0
        }
        do throws(OutputParseStop) {
            try c.readText(until: [Self.pythonTag], into: &out.content)
            guard !c.atEnd else { return out }
            try c.expect(Self.pythonTag)
            c.skipSpace()
            if !c.atEnd, c.bytes[c.at] == UInt8(ascii: "{") {
                try c.readCallObject(into: &out.toolCalls)
            } else if partial {
                return out
            } else {
                out.toolCalls.append(Self.builtinCall(c.rest.trimmingSpaces))
            }
        } catch .needMore { return out } catch { return nil }
        return out
    }

    /// Calls when the whole reply is JSON call objects, else nil.
    private func jsonCalls(_ c: inout OutputCursor) -> [ParsedToolCall]? {
        var calls: [ParsedToolCall] = []
        do throws(OutputParseStop) {
            while true {
                guard let scan = JSONSpan.scanObject(c.bytes, from: c.at),
                      scan.members.allSatisfy({ Self.callKeys.contains($0.key) }), scan.member(["name"]) != nil || c.partial
                else { return nil }
                try c.readCallObject(into: &calls)
                c.skipSpace()
                if c.atEnd { return calls }
                guard try c.skip(";") else { return nil }
                c.skipSpace()
                if c.atEnd { return c.partial ? calls : nil }
            }
        } catch .needMore { return calls.isEmpty && !c.partial ? nil : calls } catch { return nil }
    }

    /// While streaming: the reply so far could still become a JSON call.
    private func mightBeCall(_ c: OutputCursor) -> Bool {
        guard let scan = JSONSpan.scanObject(c.bytes, from: c.at) else { return false }
        return scan.end == nil && scan.members.allSatisfy { Self.callKeys.contains($0.key) }
    }

    /// `name.call(key="value", n=1)`, else Python code for the `python` tool.
    static func builtinCall(_ code: String) -> ParsedToolCall {
        let code = code.hasSuffix("<|eom_id|>") ? String(code.dropLast(10)) : code
        if let dot = code.range(of: ".call("), code.hasSuffix(")") {
            let name = String(code[..<dot.lowerBound])
            let inner = code[dot.upperBound..<code.index(before: code.endIndex)]
            var args: [(key: String, value: JSONValue)] = []
            for part in inner.split(separator: ",") where !part.trimmingCharacters(in: .whitespaces).isEmpty {
                guard let eq = part.firstIndex(of: "=") else { return pythonCall(code) }
                let key = part[..<eq].trimmingCharacters(in: .whitespaces)
                var raw = part[part.index(after: eq)...].trimmingCharacters(in: .whitespaces)
                if raw.hasPrefix("'") && raw.hasSuffix("'") && raw.count >= 2 { raw = "\"" + raw.dropFirst().dropLast() + "\"" }
                guard let v = try? JSONValue.parse(raw) else { return pythonCall(code) }
                args.append((key, v))
            }
            if name.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" }) && !name.isEmpty {
                return ParsedToolCall(name: name, arguments: JSONValue.object(args).serialized())
            }
        }
        return pythonCall(code)
    }

    private static func pythonCall(_ code: String) -> ParsedToolCall {
        ParsedToolCall(name: "python", arguments: JSONValue.object([("code", .string(code))]).serialized())
    }
}
