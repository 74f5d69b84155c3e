import GGUF
import Tokenization

/// Fuzzes the GGUF reader: a model file is untrusted input. Whatever parses must be safe to
/// use: every tensor's bytes lie inside the file, every metadata value can be summarised, and
/// building a tokenizer from the metadata fails cleanly or works.
enum GGUFFuzzEntry {
    static func run(_ bytes: [UInt8]) {
        guard let file = try? GGUFFile(bytes: bytes) else { return }
        var touched = 0
        for t in file.tensors {
            let data = file.data(for: t)
            check(data.count == t.byteCount, "tensor \(t.name) has \(data.count) bytes, expected \(t.byteCount)")
            if let first = data.first, let last = data.last { touched &+= Int(first) &+ Int(last) }
            check(file.tensor(named: t.name) != nil, "tensor \(t.name) not found by name")
        }
        for (_, value) in file.metadata.entries { _ = value.summary() }
        if let tokenizer = try? Tokenizer(metadata: file.metadata) {
            let ids = tokenizer.tokenize("Hello world <s> \u{1F600}", addSpecial: true, parseSpecial: true)
            for id in ids { check(id >= 0 && Int(id) < tokenizer.vocabularySize, "token id \(id) out of range") }
            _ = tokenizer.detokenize(ids)
            _ = tokenizer.detokenize([0, Int32(tokenizer.vocabularySize - 1)])
        }
        _ = touched
    }
}
