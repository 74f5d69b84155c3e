import JSON

/// A reading position in a model's output (as UTF-8 bytes), shared by the tool-call syntaxes.
/// `partial` says the output may continue: reading past its end then throws `.needMore`
/// instead of failing.
struct OutputCursor {
    let bytes: [UInt8]
    var at = 0
    let partial: Bool

    init(_ text: String, partial: Bool) {
        bytes = Array(text.utf8)
        self.partial = partial
    }

    var atEnd: Bool { at >= bytes.count }

    func text(_ range: Range<Int>) -> String { String(decoding: bytes[range], as: UTF8.self) }

    /// The rest of the output from the cursor on.
    var rest: String { text(at..<bytes.count) }

    mutating func skipSpace() {
        while at < bytes.count, Self.isSpace(bytes[at]) { at += 1 }
    }

    static func isSpace(_ b: UInt8) -> Bool { b == 0x20 || b == 0x0A || b == 0x0D || b == 0x09 }

    /// Whether the bytes at the cursor start with `marker`; throws `.needMore` when the output
    /// ends inside a prefix of it.
    func lookingAt(_ marker: String) throws(OutputParseStop) -> Bool {
        let m = Array(marker.utf8)
        let available = min(m.count, bytes.count - at)
        guard bytes[at..<(at + available)].elementsEqual(m[0..<available]) else { return false }
        if available < m.count {
            if partial { throw .needMore }
            return false
        }
        return true
    }

    /// Consumes `marker`, which must come next.
    mutating func expect(_ marker: String) throws(OutputParseStop) {
        guard try lookingAt(marker) else { throw .invalid }
        at += marker.utf8.count
    }

    /// Consumes `marker` if it comes next.
    mutating func skip(_ marker: String) throws(OutputParseStop) -> Bool {
        guard try lookingAt(marker) else { return false }
        at += marker.utf8.count
        return true
    }

    /// Reads plain text up to the first of `markers` (left unread) and appends it to `content`.
    /// At the end of a partial output, text that could be the start of a marker is held back and
    /// `.needMore` is thrown.
    mutating func readText(until markers: [String], into content: inout String) throws(OutputParseStop) {
        let ms = markers.map { Array($0.utf8) }
        var i = at
        while i < bytes.count {
            if ms.contains(where: { bytes[i...].starts(with: $0) }) { break }
            i += 1
        }
        if i < bytes.count {
            content += text(at..<i)
            at = i
            return
        }
        guard partial else {
            content += text(at..<bytes.count)
            at = bytes.count
            return
        }
        let held = Self.heldBack(bytes, from: at, markers: ms)
        content += text(at..<held)
        at = held
        throw .needMore
    }

    /// Start of the longest tail of `bytes[from...]` that is a proper prefix of a marker.
    static func heldBack(_ bytes: [UInt8], from: Int, markers: [[UInt8]]) -> Int {
        var start = from
        while start < bytes.count {
            let tail = bytes[start...]
            if markers.contains(where: { $0.count > tail.count && $0.starts(with: tail) }) { return start }
            start += 1
        }
        return bytes.count
    }

    /// Reads a line's text up to `terminator` (consumed); throws `.needMore` when it is cut off.
    mutating func readName(until terminator: UInt8) throws(OutputParseStop) -> String {
        guard let end = bytes[at...].firstIndex(of: terminator) else {
            throw partial ? .needMore : .invalid
        }
        let name = text(at..<end).trimmingSpaces
        at = end + 1
        guard !name.isEmpty else { throw .invalid }
        return name
    }
}

extension String {
    var trimmingSpaces: String {
        var s = Substring(self)
        while let f = s.first, f.isWhitespace { s.removeFirst() }
        while let l = s.last, l.isWhitespace { s.removeLast() }
        return String(s)
    }
}
