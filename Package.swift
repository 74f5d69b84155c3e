// swift-tools-version:6.0
import PackageDescription

// Cria: an LLM inference server. Module map and dependency direction: ARCHITECTURE.md
// (cria → Server → Serving → {Models, Sampling, Grammar, Templates, Tokenization} → Numerics → GGUF).
let package = Package(
    name: "Cria",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "cria", targets: ["cria"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
    ],
    targets: [
        .target(name: "GGUF"),
        // Hot CPU kernels in C: per-function target attributes with runtime dispatch, so no -march
        // is needed; no FMA contraction, so every kernel's rounding is what its source says.
        .target(name: "CNumerics", exclude: ["kernels_body.inc", "kernels_misc.inc"],
                cSettings: [.unsafeFlags(["-O3", "-ffp-contract=off"])]),
        .target(name: "Numerics", dependencies: ["GGUF", "CNumerics"]),
        .target(name: "Models", dependencies: ["GGUF", "Numerics"]),
        .target(name: "Tokenization", dependencies: ["GGUF"]),
        .target(name: "Sampling"),
        .target(name: "Grammar"),
        .target(name: "Templates"),
        .executableTarget(
            name: "cria",
            dependencies: [
                "GGUF", "Numerics", "Models", "Tokenization", "Sampling", "Templates",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .testTarget(name: "GGUFTests", dependencies: ["GGUF"], exclude: ["Fixtures"]),
        .testTarget(name: "NumericsTests", dependencies: ["Numerics", "GGUF", "CNumerics"], exclude: ["Fixtures"]),
        .testTarget(name: "ModelsTests", dependencies: ["Models", "Numerics", "GGUF"], exclude: ["Fixtures"]),
        .testTarget(name: "TokenizationTests", dependencies: ["Tokenization", "GGUF"], exclude: ["Fixtures"]),
        .testTarget(name: "SamplingTests", dependencies: ["Sampling"]),
        .testTarget(name: "GrammarTests", dependencies: ["Grammar"], exclude: ["schemas.json"]),
        .testTarget(name: "TemplatesTests", dependencies: ["Templates"], exclude: ["Fixtures"]),
    ]
)
