// swift-tools-version:6.1
import PackageDescription

/// The web front end's files in Sources/WebUI, each embedded into the binary and served under
/// its name (WebUI/WebAssets.swift maps them to URLs; a file left out here is not served).
enum WebUIFiles {
    static let all = ["index.html", "style.css", "completion.js", "app.js", "api.js", "store.js",
                      "settings.js", "markdown.js", "chat.js", "complete.js", "status.js"]
}

// Cria: an LLM inference server. Module map and dependency direction: docs/architecture.md
// (cria → Server → Serving → {Models, Sampling, Grammar, Templates, Tokenization} → Numerics → GGUF;
// Grammar, Templates and Server share the JSON value type from JSON, which depends on nothing).
let package = Package(
    name: "Cria",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "cria", targets: ["cria"]),
    ],
    // HTTPS is a build option, as LLAMA_SERVER_SSL is for llama-server: `swift build --traits TLS`
    // adds --ssl-key-file/--ssl-cert-file through HummingbirdTLS (swift-nio-ssl, i.e. BoringSSL,
    // whose C sources take long to compile). The default build has no TLS and refuses those flags.
    traits: [
        .trait(name: "TLS", description: "Serve HTTPS with --ssl-key-file/--ssl-cert-file (builds BoringSSL via swift-nio-ssl)."),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        // Already in Hummingbird's graph; named so the server can run its listeners as one
        // service group and shut them down on its own terms (Server/GracefulShutdown.swift).
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        // Already in Hummingbird's graph (HummingbirdTLS); compiled only with the TLS trait.
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.2"),
    ],
    targets: [
        .target(name: "GGUF"),
        // Hot CPU kernels in C: per-function target attributes with runtime dispatch, so no -march
        // is needed; no FMA contraction, so every kernel's rounding is what its source says.
        .target(name: "CNumerics", exclude: ["kernels_body.inc", "kernels_misc.inc"],
                cSettings: [.unsafeFlags(["-O3", "-ffp-contract=off"])]),
        // Named CriaNumerics (sources stay in Sources/Numerics): Hummingbird's graph brings in
        // apple/swift-numerics, whose umbrella target is called "Numerics", and SwiftPM requires
        // target names to be unique across the whole package graph.
        .target(name: "CriaNumerics", dependencies: ["GGUF", "CNumerics"], path: "Sources/Numerics"),
        // Vulkan compute (docs/architecture.md): CVulkan opens libvulkan.so.1 at run time, so
        // building and testing need no Vulkan; GPU wraps it (devices, buffers, pipelines, kernels).
        // The .comp sources are compiled into shaders_spirv.c by scripts/build-shaders.
        .target(name: "CVulkan", exclude: ["shaders"]),
        .target(name: "GPU", dependencies: ["GGUF", "CVulkan"]),
        .target(name: "Models", dependencies: ["GGUF", "CriaNumerics", "GPU"]),
        .target(name: "Tokenization", dependencies: ["GGUF"]),
        .target(name: "Sampling"),
        // One JSON value type, parser, serializer and string escaper for Server, Grammar and Templates.
        .target(name: "JSON"),
        .target(name: "Grammar", dependencies: ["JSON"]),
        .target(name: "Templates", dependencies: ["JSON"]),
        .target(
            name: "Serving",
            dependencies: ["GGUF", "Models", "Sampling", "Grammar", "Templates", "Tokenization"]
        ),
        // The built-in web front end: its .html/.js/.css files are the source, compiled into the
        // binary as byte arrays (embedInCode), so `cria serve` needs no files beside it.
        .target(name: "WebUI", resources: WebUIFiles.all.map { .embedInCode($0) }),
        .target(
            name: "Server",
            dependencies: [
                "Serving", "WebUI", "Models", "Sampling", "Grammar", "Templates", "Tokenization", "JSON", "CriaNumerics",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "HummingbirdTLS", package: "hummingbird", condition: .when(traits: ["TLS"])),
                .product(name: "NIOSSL", package: "swift-nio-ssl", condition: .when(traits: ["TLS"])),
            ]
        ),
        .executableTarget(
            name: "cria",
            dependencies: [
                "GGUF", "CriaNumerics", "Models", "Tokenization", "Sampling", "Grammar", "Templates", "JSON", "Serving", "Server",
                "GPU",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        // Speed of the per-token parts (sampler chain, grammar masks, chat templates) without a
        // model: `scripts/bench-components`. Model throughput is `cria bench`. Not a test.
        .executableTarget(
            name: "ComponentBench",
            dependencies: ["Sampling", "Grammar", "Templates", "JSON", "TestSupport", .product(name: "ArgumentParser", package: "swift-argument-parser")],
            path: "Benchmarks/ComponentBench"
        ),
        // Shared by tests and benchmarks: a seeded generator and a small-stack runner.
        .target(name: "TestSupport", path: "Tests/TestSupport"),
        .testTarget(name: "GGUFTests", dependencies: ["GGUF"], exclude: ["Fixtures"]),
        .testTarget(name: "NumericsTests", dependencies: ["CriaNumerics", "GGUF", "CNumerics", "TestSupport"], exclude: ["Fixtures"]),
        .testTarget(name: "ModelsTests", dependencies: ["Models", "CriaNumerics", "GGUF", "GPU"], exclude: ["Fixtures"]),
        .testTarget(name: "TokenizationTests", dependencies: ["Tokenization", "GGUF"], exclude: ["Fixtures"]),
        .testTarget(name: "SamplingTests", dependencies: ["Sampling"]),
        .testTarget(name: "JSONTests", dependencies: ["JSON"]),
        .testTarget(name: "GrammarTests", dependencies: ["Grammar", "JSON", "TestSupport"], exclude: ["schemas.json"]),
        .testTarget(name: "TemplatesTests", dependencies: ["Templates", "JSON", "TestSupport"], exclude: ["Fixtures"]),
        .testTarget(name: "ServingTests", dependencies: ["Serving", "Models", "Tokenization", "Sampling", "Grammar"]),
        .testTarget(name: "ServerTests", dependencies: ["Server", "Serving", "Sampling"]),
        .testTarget(name: "GPUTests", dependencies: ["GPU", "CriaNumerics", "GGUF", "TestSupport"]),
        // Entry points of the fuzz targets; FuzzRegressionTests replays Fuzz/corpus and
        // Fuzz/regressions through them in every test run.
        .target(name: "FuzzEntries", dependencies: ["GGUF", "JSON", "Grammar", "Templates", "Tokenization"]),
        .testTarget(name: "FuzzRegressionTests", dependencies: ["FuzzEntries"]),
    ]
)

// `CRIA_FUZZ=1` turns the package into the libFuzzer build (scripts/fuzz): only the parsing
// modules and one executable per fuzz target, no HTTP dependencies, so a sanitizer build of
// them takes a minute and the normal build never sees the fuzz targets.
if Context.environment["CRIA_FUZZ"] == "1" {
    let kept: Set<String> = ["GGUF", "JSON", "Grammar", "Templates", "Tokenization", "FuzzEntries"]
    package.dependencies = []
    package.targets = package.targets.filter { kept.contains($0.name) }
    package.products = []
    package.targets.append(.target(name: "CFuzzDriver", path: "Fuzz/CFuzzDriver"))
    for name in ["gguf", "gbnf", "jsonschema", "jinja", "tokenizer", "request"] {
        package.targets.append(.executableTarget(
            name: "fuzz-\(name)", dependencies: ["FuzzEntries", "CFuzzDriver"], path: "Fuzz/Targets/\(name)",
            // gold crashes on the sanitizer runtime's debug info; lld links it.
            linkerSettings: [.unsafeFlags(["-use-ld=lld"])]))
        package.products.append(.executable(name: "fuzz-\(name)", targets: ["fuzz-\(name)"]))
    }
}
