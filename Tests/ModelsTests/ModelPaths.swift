import Foundation

/// Where the model tests find the real model and llama.cpp's recorded outputs
/// (Tests/Fixtures/reference, provenance in its README).
enum ModelPaths {
    static let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().path
    static let model = packageRoot + "/models/gemma-3-270m-q4_k_m.gguf"
    static let reference = packageRoot + "/Tests/Fixtures/reference/gemma3-270m/"
}
