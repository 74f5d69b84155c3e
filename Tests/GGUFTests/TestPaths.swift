import Foundation

/// Where test inputs live, found from this file's path so tests run from any directory.
enum TestPaths {
    static let packageRoot: String = {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().path
    }()

    static func fixture(_ name: String) -> String {
        packageRoot + "/Tests/GGUFTests/Fixtures/" + name
    }

    /// The real test model; `scripts/fetch-model` puts it there (the README's test command runs it).
    static let model = packageRoot + "/models/gemma-3-270m-q4_k_m.gguf"
}
