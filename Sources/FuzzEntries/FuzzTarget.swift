/// The fuzz targets, by the name `scripts/fuzz` and the corpus folders use. Each target's
/// entry takes arbitrary bytes and must return for every input: errors thrown by the code
/// under test are expected outcomes, while a crash, a trap or a failed `check` is a bug.
///
/// The libFuzzer executables under Fuzz/ and the regression tests in `swift test` both call
/// these entries, so every saved input replays through exactly the code that found it.
public enum FuzzTarget: String, CaseIterable, Sendable {
    case gguf, gbnf, jsonschema, jinja, tokenizer, request

    public func run(_ data: UnsafeRawBufferPointer) {
        let bytes = [UInt8](data)
        switch self {
        case .gguf: GGUFFuzzEntry.run(bytes)
        case .gbnf: GBNFFuzzEntry.run(bytes)
        case .jsonschema: JSONSchemaFuzzEntry.run(bytes)
        case .jinja: JinjaFuzzEntry.run(bytes)
        case .tokenizer: TokenizerFuzzEntry.run(bytes)
        case .request: RequestFuzzEntry.run(bytes)
        }
    }

    public func run(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { run($0) }
    }
}

/// Stops the process when a property the fuzzer should never break does not hold. Unlike
/// `assert`, it stays on in release builds, which is how the fuzz targets are built.
func check(_ condition: @autoclosure () -> Bool, _ message: @autoclosure () -> String) {
    if !condition() { fatalError("fuzz property violated: \(message())") }
}

/// Splits an input in two at the first NUL byte (or keeps it whole), so one input can carry
/// two texts: a grammar and a string to match, a template and its variables.
func splitAtNUL(_ bytes: [UInt8]) -> (first: [UInt8], second: [UInt8]) {
    guard let i = bytes.firstIndex(of: 0) else { return (bytes, []) }
    return (Array(bytes[..<i]), Array(bytes[(i + 1)...]))
}
