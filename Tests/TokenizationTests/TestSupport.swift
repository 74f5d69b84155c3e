import Foundation
import GGUF
@testable import Tokenization

/// Where test inputs live, found from this file's path so tests run from any directory.
enum TestPaths {
    static let packageRoot: String = {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().path
    }()

    /// The real test model; `scripts/fetch-model` puts it there.
    static let model = packageRoot + "/models/gemma-3-270m-q4_k_m.gguf"

    /// llama.cpp's recorded outputs for that model (provenance: Tests/Fixtures/reference/README.md).
    static func reference(_ name: String) -> String {
        packageRoot + "/Tests/Fixtures/reference/gemma3-270m/" + name
    }

    static func fixture(_ name: String) -> String {
        packageRoot + "/Tests/TokenizationTests/Fixtures/" + name
    }
}

/// The Gemma tokenizer, loaded once for all tests (the vocabulary has 262,144 tokens).
enum Gemma {
    static let tokenizer: Result<Tokenizer, Error> = Result {
        try Tokenizer(file: GGUFFile(path: TestPaths.model))
    }
    static func get() throws -> Tokenizer { try tokenizer.get() }
}

func loadJSON(_ path: String) throws -> Any {
    try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path)))
}

/// A recorded piece: llama-server writes valid UTF-8 as a string, other bytes as a number list.
func pieceBytes(_ value: Any?) -> [UInt8]? {
    if let s = value as? String { return Array(s.utf8) }
    if let list = value as? [Int] { return list.map { UInt8($0) } }
    return nil
}
