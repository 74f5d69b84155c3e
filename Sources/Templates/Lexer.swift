/// Splits Jinja source into tokens, applying whitespace control the way jinja2 does
/// with `trim_blocks=True, lstrip_blocks=True` (the Hugging Face environment):
/// - `{%-` / `-%}` (and `{{-`, `-}}`, `{#-`, `-#}`) strip all whitespace on that side;
/// - lstrip_blocks removes spaces/tabs between a line start and `{%` / `{#` (not `{{`), unless `{%+`;
/// - trim_blocks removes the first newline after `%}` / `#}`, unless `+%}`.
struct Lexer {
    private let src: [UInt8]
    private var pos = 0
    private var tokens: [Token] = []
    /// Set by a `-` on a closing delimiter: the next text run loses its leading whitespace.
    private var stripNextText = false

    init(_ source: String) {
        // jinja2 normalises every newline (`\r\n`, `\r`) in template data to `\n`.
        var bytes: [UInt8] = []
        bytes.reserveCapacity(source.utf8.count)
        var previousCR = false
        for b in source.utf8 {
            if b == 13 { bytes.append(10); previousCR = true; continue }
            if b == 10 && previousCR { previousCR = false; continue }
            previousCR = false
            bytes.append(b)
        }
        // keep_trailing_newline=False (jinja2's default): one trailing newline is dropped.
        if bytes.last == 10 { bytes.removeLast() }
        src = bytes
    }

    static func tokenize(_ source: String) throws -> [Token] {
        var lexer = Lexer(source)
        try lexer.run()
        return lexer.tokens
    }

    // MARK: positions

    // Incremental cursor for line and column tracking: tokens are emitted in increasing
    // offset order, so advancing from the last position keeps position lookup linear overall
    // (also on one very long line, which a template from a request can be).
    private var locOffset = 0
    private var locLine = 1
    private var locColumn = 1

    /// Line/column (1-based; column counts characters, not bytes) for a byte offset.
    private mutating func location(_ offset: Int) -> (Int, Int) {
        let end = min(offset, src.count)
        if end < locOffset { locOffset = 0; locLine = 1; locColumn = 1 }
        var i = locOffset
        while i < end {
            if src[i] == 10 {
                locLine += 1
                locColumn = 1
            } else if src[i] & 0xC0 != 0x80 {
                locColumn += 1
            }
            i += 1
        }
        locOffset = end
        return (locLine, locColumn)
    }

    private mutating func error(_ message: String, at offset: Int) -> TemplateError {
        let (l, c) = location(offset)
        return TemplateError(.syntax, message, line: l, column: c)
    }

    private mutating func emit(_ kind: Token.Kind, at offset: Int) {
        let (l, c) = location(offset)
        tokens.append(Token(kind: kind, line: l, column: c))
    }

    @inline(__always) private func byte(_ i: Int) -> UInt8 { i < src.count ? src[i] : 0 }

    private static func isSpace(_ b: UInt8) -> Bool { b == 32 || b == 9 || b == 10 || b == 13 || b == 11 || b == 12 }

    // MARK: main loop

    private mutating func run() throws {
        let n = src.count
        while pos < n {
            // Find the next tag opener.
            var tagStart = pos
            var tagKind: UInt8 = 0
            while tagStart < n {
                if src[tagStart] == UInt8(ascii: "{") && tagStart + 1 < n {
                    let c = src[tagStart + 1]
                    if c == UInt8(ascii: "{") || c == UInt8(ascii: "%") || c == UInt8(ascii: "#") { tagKind = c; break }
                }
                tagStart += 1
            }
            let modifier = tagKind != 0 ? byte(tagStart + 2) : 0
            try emitText(from: pos, to: tagStart, tagKind: tagKind, modifier: modifier)
            if tagKind == 0 { pos = n; break }
            let hasModifier = modifier == UInt8(ascii: "-") || modifier == UInt8(ascii: "+")
            let innerStart = tagStart + 2 + (hasModifier ? 1 : 0)
            switch tagKind {
            case UInt8(ascii: "#"):
                try lexComment(tagStart: tagStart, innerStart: innerStart)
            case UInt8(ascii: "{"):
                emit(.variableBegin, at: tagStart)
                pos = innerStart
                try lexExpression(isBlock: false, tagStart: tagStart)
            default:
                if try lexRawIfPresent(tagStart: tagStart, innerStart: innerStart) { continue }
                emit(.blockBegin, at: tagStart)
                pos = innerStart
                try lexExpression(isBlock: true, tagStart: tagStart)
            }
        }
        emit(.eof, at: n)
    }

    /// Emits the text in `[start, end)` after applying whitespace control from the surrounding tags.
    private mutating func emitText(from start: Int, to end: Int, tagKind: UInt8, modifier: UInt8) throws {
        var s = start
        var e = end
        if stripNextText {
            while s < e && Lexer.isSpace(src[s]) { s += 1 }
            stripNextText = false
        }
        if tagKind != 0 {
            if modifier == UInt8(ascii: "-") {
                while e > s && Lexer.isSpace(src[e - 1]) { e -= 1 }
            } else if modifier != UInt8(ascii: "+") && (tagKind == UInt8(ascii: "%") || tagKind == UInt8(ascii: "#")) {
                // lstrip_blocks: drop the spaces/tabs that precede the tag on its own line.
                var k = e
                while k > s && (src[k - 1] == 32 || src[k - 1] == 9) { k -= 1 }
                let atLineStart = k > s ? src[k - 1] == 10 : (k == 0 || src[k - 1] == 10)
                if atLineStart { e = k }
            }
        }
        if e > s {
            emit(.text(String(decoding: src[s..<e], as: UTF8.self)), at: s)
        }
    }

    /// Handles what follows a closing delimiter: `-` strips the next text's leading
    /// whitespace; otherwise for blocks/comments trim_blocks eats one newline (unless `+`).
    private mutating func afterClose(modifier: UInt8, isBlockOrComment: Bool) {
        if modifier == UInt8(ascii: "-") {
            stripNextText = true
        } else if isBlockOrComment && modifier != UInt8(ascii: "+") {
            if byte(pos) == 10 { pos += 1 } else if byte(pos) == 13 && byte(pos + 1) == 10 { pos += 2 }
        }
    }

    private mutating func lexComment(tagStart: Int, innerStart: Int) throws {
        var i = innerStart
        while i + 1 < src.count {
            if src[i] == UInt8(ascii: "#") && src[i + 1] == UInt8(ascii: "}") {
                let mod = i > innerStart ? src[i - 1] : 0
                pos = i + 2
                afterClose(modifier: mod, isBlockOrComment: true)
                return
            }
            i += 1
        }
        throw error("Missing end of comment tag", at: tagStart)
    }

    /// `{% raw %}...{% endraw %}`: the body is emitted verbatim as text.
    private mutating func lexRawIfPresent(tagStart: Int, innerStart: Int) throws -> Bool {
        var i = innerStart
        while i < src.count && Lexer.isSpace(src[i]) { i += 1 }
        guard matchWord("raw", at: i) else { return false }
        i += 3
        while i < src.count && Lexer.isSpace(src[i]) { i += 1 }
        var closeMod: UInt8 = 0
        if byte(i) == UInt8(ascii: "-") || byte(i) == UInt8(ascii: "+") { closeMod = src[i]; i += 1 }
        guard byte(i) == UInt8(ascii: "%") && byte(i + 1) == UInt8(ascii: "}") else { return false }
        pos = i + 2
        afterClose(modifier: closeMod, isBlockOrComment: true)
        // Find `{%[-+]? endraw [-+]?%}`.
        var j = pos
        while j + 1 < src.count {
            if src[j] == UInt8(ascii: "{") && src[j + 1] == UInt8(ascii: "%") {
                var k = j + 2
                let openMod = byte(k)
                if openMod == UInt8(ascii: "-") || openMod == UInt8(ascii: "+") { k += 1 }
                while k < src.count && Lexer.isSpace(src[k]) { k += 1 }
                if matchWord("endraw", at: k) {
                    k += 6
                    while k < src.count && Lexer.isSpace(src[k]) { k += 1 }
                    var endMod: UInt8 = 0
                    if byte(k) == UInt8(ascii: "-") || byte(k) == UInt8(ascii: "+") { endMod = src[k]; k += 1 }
                    if byte(k) == UInt8(ascii: "%") && byte(k + 1) == UInt8(ascii: "}") {
                        try emitText(from: pos, to: j, tagKind: UInt8(ascii: "%"), modifier: openMod)
                        pos = k + 2
                        afterClose(modifier: endMod, isBlockOrComment: true)
                        return true
                    }
                }
            }
            j += 1
        }
        throw error("Missing end of raw directive", at: tagStart)
    }

    private func matchWord(_ w: String, at i: Int) -> Bool {
        let bytes = Array(w.utf8)
        guard i + bytes.count <= src.count else { return false }
        for (k, b) in bytes.enumerated() where src[i + k] != b { return false }
        let after = byte(i + bytes.count)
        return !(Lexer.isIdentChar(after))
    }

    private static func isIdentStart(_ b: UInt8) -> Bool {
        (b >= 65 && b <= 90) || (b >= 97 && b <= 122) || b == 95
    }
    private static func isIdentChar(_ b: UInt8) -> Bool { isIdentStart(b) || (b >= 48 && b <= 57) }
    private static func isDigit(_ b: UInt8) -> Bool { b >= 48 && b <= 57 }

    private static let threeCharOps: Set<String> = []
    private static let twoCharOps: Set<String> = ["**", "//", "==", "!=", "<=", ">="]
    private static let oneCharOps: Set<UInt8> = Set("+-*/%~<>=()[]{},.:|;!".utf8)

    /// Lexes expression tokens up to the matching `}}` or `%}`.
    private mutating func lexExpression(isBlock: Bool, tagStart: Int) throws {
        var depth = 0  // bracket nesting, so `}}` inside a dict literal doesn't close the tag
        let closeChar = isBlock ? UInt8(ascii: "%") : UInt8(ascii: "}")
        while true {
            while pos < src.count && Lexer.isSpace(src[pos]) { pos += 1 }
            guard pos < src.count else {
                throw error(isBlock ? "Unexpected end of template; missing '%}'" : "Unexpected end of template; missing '}}'", at: tagStart)
            }
            let b = src[pos]
            // Closing delimiter, possibly with a whitespace modifier.
            if depth == 0 {
                if b == closeChar && byte(pos + 1) == UInt8(ascii: "}") {
                    emit(isBlock ? .blockEnd : .variableEnd, at: pos)
                    pos += 2
                    afterClose(modifier: 0, isBlockOrComment: isBlock)
                    return
                }
                if (b == UInt8(ascii: "-") || b == UInt8(ascii: "+")) && byte(pos + 1) == closeChar && byte(pos + 2) == UInt8(ascii: "}") {
                    emit(isBlock ? .blockEnd : .variableEnd, at: pos)
                    pos += 3
                    afterClose(modifier: b, isBlockOrComment: isBlock)
                    return
                }
            }
            let start = pos
            if Lexer.isIdentStart(b) {
                var e = pos + 1
                while e < src.count && Lexer.isIdentChar(src[e]) { e += 1 }
                emit(.name(String(decoding: src[pos..<e], as: UTF8.self)), at: start)
                pos = e
            } else if Lexer.isDigit(b) || (b == UInt8(ascii: ".") && Lexer.isDigit(byte(pos + 1)) && !lastTokenIsOperand) {
                try lexNumber()
            } else if b == UInt8(ascii: "'") || b == UInt8(ascii: "\"") {
                try lexString(quote: b)
            } else {
                let two = pos + 1 < src.count ? String(decoding: src[pos..<pos + 2], as: UTF8.self) : ""
                if Lexer.twoCharOps.contains(two) {
                    emit(.op(two), at: start)
                    pos += 2
                } else if Lexer.oneCharOps.contains(b) {
                    if b == UInt8(ascii: "(") || b == UInt8(ascii: "[") || b == UInt8(ascii: "{") { depth += 1 }
                    if b == UInt8(ascii: ")") || b == UInt8(ascii: "]") || b == UInt8(ascii: "}") { depth = max(0, depth - 1) }
                    emit(.op(String(UnicodeScalar(b))), at: start)
                    pos += 1
                } else {
                    let ch = String(decoding: src[pos..<min(src.count, pos + 4)], as: UTF8.self).first.map(String.init) ?? "?"
                    throw error("unexpected char '\(ch)'", at: pos)
                }
            }
        }
    }

    /// Whether the previous token can be followed by `.attr` (so `x.5` is not a float).
    private var lastTokenIsOperand: Bool {
        guard let last = tokens.last else { return false }
        switch last.kind {
        case .name, .string, .integer, .float: return true
        case .op(let o): return o == ")" || o == "]" || o == "}"
        default: return false
        }
    }

    private mutating func lexNumber() throws {
        let start = pos
        var e = pos
        var isFloat = false
        func digits() { while e < src.count && (Lexer.isDigit(src[e]) || src[e] == UInt8(ascii: "_")) { e += 1 } }
        digits()
        if byte(e) == UInt8(ascii: ".") && Lexer.isDigit(byte(e + 1)) {
            isFloat = true
            e += 1
            digits()
        }
        if byte(e) == UInt8(ascii: "e") || byte(e) == UInt8(ascii: "E") {
            var k = e + 1
            if byte(k) == UInt8(ascii: "+") || byte(k) == UInt8(ascii: "-") { k += 1 }
            if Lexer.isDigit(byte(k)) {
                isFloat = true
                e = k
                digits()
            }
        }
        let text = String(decoding: src[start..<e], as: UTF8.self).replacingOccurrences(of: "_", with: "")
        pos = e
        if isFloat {
            guard let d = Double(text) else { throw error("invalid float literal", at: start) }
            emit(.float(d), at: start)
        } else {
            guard let i = Int(text) else { throw error("integer literal too large", at: start) }
            emit(.integer(i), at: start)
        }
    }

    /// Lexes a quoted string, decoding Python escape sequences as jinja2 does
    /// (`unicode-escape`): unknown escapes keep their backslash.
    private mutating func lexString(quote: UInt8) throws {
        let start = pos
        var i = pos + 1
        var bytes: [UInt8] = []
        while true {
            guard i < src.count else { throw error("unexpected end of string", at: start) }
            let c = src[i]
            if c == quote { i += 1; break }
            if c == UInt8(ascii: "\\") && i + 1 < src.count {
                let n = src[i + 1]
                i += 2
                switch n {
                case UInt8(ascii: "n"): bytes.append(10)
                case UInt8(ascii: "t"): bytes.append(9)
                case UInt8(ascii: "r"): bytes.append(13)
                case UInt8(ascii: "\\"): bytes.append(92)
                case UInt8(ascii: "'"): bytes.append(39)
                case UInt8(ascii: "\""): bytes.append(34)
                case UInt8(ascii: "a"): bytes.append(7)
                case UInt8(ascii: "b"): bytes.append(8)
                case UInt8(ascii: "f"): bytes.append(12)
                case UInt8(ascii: "v"): bytes.append(11)
                case 10: break  // backslash-newline is a line continuation
                case UInt8(ascii: "x"), UInt8(ascii: "u"), UInt8(ascii: "U"):
                    let len = n == UInt8(ascii: "x") ? 2 : (n == UInt8(ascii: "u") ? 4 : 8)
                    guard i + len <= src.count,
                          let v = UInt32(String(decoding: src[i..<i + len], as: UTF8.self), radix: 16),
                          let scalar = UnicodeScalar(v) else {
                        throw error("truncated \\\(UnicodeScalar(n)) escape", at: i - 2)
                    }
                    bytes.append(contentsOf: Array(String(Character(scalar)).utf8))
                    i += len
                case UInt8(ascii: "0")...UInt8(ascii: "7"):
                    var v = UInt32(n - 48)
                    var k = 0
                    while k < 2 && i < src.count && src[i] >= 48 && src[i] <= 55 { v = v * 8 + UInt32(src[i] - 48); i += 1; k += 1 }
                    if let scalar = UnicodeScalar(v) { bytes.append(contentsOf: Array(String(Character(scalar)).utf8)) }
                default:
                    bytes.append(92)
                    bytes.append(n)
                }
                continue
            }
            bytes.append(c)
            i += 1
        }
        pos = i
        emit(.string(String(decoding: bytes, as: UTF8.self)), at: start)
    }
}
