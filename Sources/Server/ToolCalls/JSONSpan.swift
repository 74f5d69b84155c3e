import JSON

/// Finds where JSON values end in output that may still be arriving, without building them.
/// The span found is checked by the real parser once it is complete.
enum JSONSpan {
    enum End: Equatable {
        /// The value ends just before this index.
        case complete(Int)
        /// The bytes run out inside the value.
        case incomplete
        case invalid
    }

    /// Where the value starting at `start` (no leading space) ends.
    static func end(of bytes: [UInt8], from start: Int) -> End {
        guard start < bytes.count else { return .incomplete }
        switch bytes[start] {
        case UInt8(ascii: "\""): return stringEnd(bytes, from: start)
        case UInt8(ascii: "{"), UInt8(ascii: "["): return containerEnd(bytes, from: start)
        default:
            var i = start
            while i < bytes.count, isLiteralByte(bytes[i]) { i += 1 }
            if i == start { return .invalid }
            return i == bytes.count ? .incomplete : .complete(i)
        }
    }

    private static func isLiteralByte(_ b: UInt8) -> Bool {
        (b >= 0x30 && b <= 0x39) || (b >= 0x61 && b <= 0x7A) || b == 0x2B || b == 0x2D || b == 0x2E || b == 0x45
    }

    private static func stringEnd(_ bytes: [UInt8], from start: Int) -> End {
        var i = start + 1
        while i < bytes.count {
            switch bytes[i] {
            case UInt8(ascii: "\\"): i += 2
            case UInt8(ascii: "\""): return .complete(i + 1)
            default: i += 1
            }
        }
        return .incomplete
    }

    private static func containerEnd(_ bytes: [UInt8], from start: Int) -> End {
        var depth = 0
        var i = start
        while i < bytes.count {
            switch bytes[i] {
            case UInt8(ascii: "\""):
                guard case .complete(let e) = stringEnd(bytes, from: i) else { return .incomplete }
                i = e
                continue
            case UInt8(ascii: "{"), UInt8(ascii: "["): depth += 1
            case UInt8(ascii: "}"), UInt8(ascii: "]"):
                depth -= 1
                if depth == 0 { return .complete(i + 1) }
            default: break
            }
            i += 1
        }
        return .incomplete
    }

    /// The members of the object at `start` read so far: each key with where its value starts and,
    /// once complete, ends; `end` is the index after `}` once the object is closed.
    struct ObjectScan {
        struct Member {
            var key: String
            var valueStart: Int
            var valueEnd: Int?
        }
        var members: [Member] = []
        var end: Int?

        func member(_ keys: [String]) -> Member? { members.first { keys.contains($0.key) } }
    }

    /// Nil when the bytes at `start` are not (the beginning of) a JSON object.
    static func scanObject(_ bytes: [UInt8], from start: Int) -> ObjectScan? {
        var scan = ObjectScan()
        guard start < bytes.count, bytes[start] == UInt8(ascii: "{") else { return start < bytes.count ? nil : scan }
        var i = start + 1
        func space() { while i < bytes.count, OutputCursor.isSpace(bytes[i]) { i += 1 } }
        while true {
            space()
            guard i < bytes.count else { return scan }
            if bytes[i] == UInt8(ascii: "}"), scan.members.isEmpty { scan.end = i + 1; return scan }
            guard bytes[i] == UInt8(ascii: "\"") else { return nil }
            guard case .complete(let keyEnd) = stringEnd(bytes, from: i) else { return scan }
            guard case .string(let key)? = try? JSONValue.parse(utf8: Array(bytes[i..<keyEnd])) else { return nil }
            i = keyEnd
            space()
            guard i < bytes.count else { return scan }
            guard bytes[i] == UInt8(ascii: ":") else { return nil }
            i += 1
            space()
            var member = ObjectScan.Member(key: key, valueStart: i, valueEnd: nil)
            switch end(of: bytes, from: i) {
            case .invalid: return nil
            case .incomplete: scan.members.append(member); return scan
            case .complete(let e): member.valueEnd = e; i = e
            }
            scan.members.append(member)
            space()
            guard i < bytes.count else { return scan }
            if bytes[i] == UInt8(ascii: "}") { scan.end = i + 1; return scan }
            guard bytes[i] == UInt8(ascii: ",") else { return nil }
            i += 1
        }
    }
}

extension OutputCursor {
    /// The value starting at the cursor, parsed; throws `.needMore` when it is cut off.
    mutating func readJSON() throws(OutputParseStop) -> (value: JSONValue, text: String) {
        switch JSONSpan.end(of: bytes, from: at) {
        case .invalid: throw .invalid
        case .incomplete: throw partial ? .needMore : .invalid
        case .complete(let e):
            guard let v = try? JSONValue.parse(utf8: Array(bytes[at..<e])) else { throw .invalid }
            defer { at = e }
            return (v, text(at..<e))
        }
    }

    /// Reads a call's JSON arguments and appends the call as `name`. When the output ends inside
    /// them, the call is appended as incomplete (with the arguments so far) before `.needMore` is thrown.
    mutating func readArguments(of name: String, into calls: inout [ParsedToolCall]) throws(OutputParseStop) {
        do throws(OutputParseStop) {
            let args = try readJSON()
            calls.append(ParsedToolCall(name: name, arguments: args.text))
        } catch .needMore {
            calls.append(ParsedToolCall(name: name, arguments: rest, isComplete: false))
            throw .needMore
        }
    }

    /// Reads one call written as a JSON object (`{"name": …, "arguments": {…}}` and the like) and
    /// appends it. When the output ends inside it, a call whose name is complete is appended as
    /// incomplete (with the arguments so far) before `.needMore` is thrown.
    mutating func readCallObject(into calls: inout [ParsedToolCall], nameKeys: [String] = ["name"],
                                 argumentKeys: [String] = ["arguments", "parameters"],
                                 idKeys: [String] = ["id"]) throws(OutputParseStop) {
        guard let scan = JSONSpan.scanObject(bytes, from: at) else { throw .invalid }
        guard let end = scan.end else {
            guard partial else { throw .invalid }
            if let n = scan.member(nameKeys), let ne = n.valueEnd,
               case .string(let name)? = try? JSONValue.parse(utf8: Array(bytes[n.valueStart..<ne])) {
                var arguments = ""
                if let a = scan.member(argumentKeys), a.valueStart < bytes.count, bytes[a.valueStart] == UInt8(ascii: "{") {
                    arguments = text(a.valueStart..<(a.valueEnd ?? bytes.count))
                }
                calls.append(ParsedToolCall(name: name, arguments: arguments, id: nil, isComplete: false))
            }
            throw .needMore
        }
        guard case .object(let members)? = try? JSONValue.parse(utf8: Array(bytes[at..<end])),
              let name = members.first(where: { nameKeys.contains($0.key) })?.value.stringValue else { throw .invalid }
        var arguments = "{}"
        if let a = scan.member(argumentKeys), let ae = a.valueEnd {
            switch members.first(where: { argumentKeys.contains($0.key) })?.value {
            case .string(let s)?: arguments = s  // some models write the arguments as a JSON string
            default: arguments = text(a.valueStart..<ae)
            }
        }
        let id = members.first(where: { idKeys.contains($0.key) })?.value.stringValue
        calls.append(ParsedToolCall(name: name, arguments: arguments, id: id))
        at = end
    }
}
