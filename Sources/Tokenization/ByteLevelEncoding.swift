/// GPT-2's reversible byte ↔ printable-character mapping used by byte-level BPE vocabularies.
///
/// Byte-level BPE tokens are stored as text in which each raw byte is one printable character:
/// bytes `!`…`~`, `¡`…`¬` and `®`…`ÿ` stand for themselves and the other 68 bytes (controls,
/// space, …) are shifted to U+0100 and up in byte order. So " hello" is stored as "Ġhello".
/// We decode the vocabulary into raw bytes once, so that tokenization can work on the input's
/// own bytes instead of building mapped strings.
enum ByteLevelEncoding {
    /// `scalar[b]` is the character that stands for byte `b`.
    static let scalarForByte: [UInt32] = {
        var table = [UInt32](repeating: 0, count: 256)
        var isPrintable = [Bool](repeating: false, count: 256)
        for b in 0x21...0x7E { isPrintable[b] = true }
        for b in 0xA1...0xAC { isPrintable[b] = true }
        for b in 0xAE...0xFF { isPrintable[b] = true }
        var next: UInt32 = 256
        for b in 0..<256 {
            if isPrintable[b] { table[b] = UInt32(b) } else { table[b] = next; next += 1 }
        }
        return table
    }()

    /// The inverse of `scalarForByte`, indexed by scalar value (all are below 0x144).
    static let byteForScalar: [Int16] = {
        var table = [Int16](repeating: -1, count: 0x144)
        for (b, s) in scalarForByte.enumerated() { table[Int(s)] = Int16(b) }
        return table
    }()

    /// The raw bytes a stored token text stands for, or nil when it contains a character
    /// outside the mapping (such a token can never be produced by byte-level merging).
    static func decode(_ text: String) -> [UInt8]? {
        var out: [UInt8] = []
        out.reserveCapacity(text.utf8.count)
        for scalar in text.unicodeScalars {
            let v = Int(scalar.value)
            guard v < byteForScalar.count, byteForScalar[v] >= 0 else { return nil }
            out.append(UInt8(byteForScalar[v]))
        }
        return out
    }

    /// Stored text → output bytes the way llama.cpp's `llama_decode_text` does it: characters
    /// outside the mapping are written as `[UNK_BYTE_0x…]` markers rather than dropped.
    static func decodeForOutput(_ text: String) -> [UInt8] {
        var out: [UInt8] = []
        for scalar in text.unicodeScalars {
            let v = Int(scalar.value)
            if v < byteForScalar.count, byteForScalar[v] >= 0 {
                out.append(UInt8(byteForScalar[v]))
            } else {
                out.append(contentsOf: Array("[UNK_BYTE_0x".utf8))
                for byte in String(scalar).utf8 {
                    let hex = Array("0123456789abcdef".utf8)
                    out.append(hex[Int(byte >> 4)]); out.append(hex[Int(byte & 15)])
                }
                out.append(contentsOf: Array(text.utf8))
                out.append(UInt8(ascii: "]"))
            }
        }
        return out
    }

    /// The stored (mapped) text for raw bytes.
    static func encode<C: Collection>(_ bytes: C) -> String where C.Element == UInt8 {
        var s = String.UnicodeScalarView()
        for b in bytes { s.append(Unicode.Scalar(scalarForByte[Int(b)])!) }
        return String(s)
    }
}
