/// UTF-8 ↔ code points for the tokenizers, which work on code points but keep byte offsets.
///
/// Input text reaches the tokenizers as a Swift `String`'s bytes, so it is valid UTF-8; the
/// decoder still never reads past the end when a sequence is cut short.
enum UTF8Decoding {
    /// The code points of `bytes`, and where each starts in `bytes` (one more entry: the end).
    static func decode(_ bytes: UnsafeBufferPointer<UInt8>) -> (codepoints: [UInt32], starts: [Int]) {
        var cpts: [UInt32] = []
        var starts: [Int] = []
        cpts.reserveCapacity(bytes.count)
        starts.reserveCapacity(bytes.count + 1)
        var i = 0
        let n = bytes.count
        while i < n {
            let b0 = UInt32(bytes[i])
            var len = 1
            var c = b0
            if b0 >= 0xF0 { len = 4; c = b0 & 0x07 } else if b0 >= 0xE0 { len = 3; c = b0 & 0x0F }
            else if b0 >= 0xC0 { len = 2; c = b0 & 0x1F }
            len = min(len, n - i)
            if len > 1 { for k in 1..<len { c = (c << 6) | (UInt32(bytes[i + k]) & 0x3F) } }
            starts.append(i)
            cpts.append(c)
            i += len
        }
        starts.append(n)
        return (cpts, starts)
    }

    /// The byte length of the UTF-8 sequence that starts with `lead` (1 for a stray byte).
    @inline(__always)
    static func sequenceLength(lead: UInt8) -> Int {
        lead < 0xC0 ? 1 : lead < 0xE0 ? 2 : lead < 0xF0 ? 3 : 4
    }

    /// Appends `cpt` as UTF-8 (U+FFFD for a value that is not a scalar).
    static func append(_ cpt: UInt32, to bytes: inout [UInt8]) {
        let scalar = Unicode.Scalar(cpt) ?? "\u{FFFD}"
        bytes.append(contentsOf: UTF8.encode(scalar)!)
    }
}
