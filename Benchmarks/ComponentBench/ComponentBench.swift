import ArgumentParser

/// `swift run -c release ComponentBench [sampling|grammar|templates …]`: the speed of the parts
/// that run once per generated token or per request, outside any model. Prints numbers and
/// asserts nothing; the tests check correctness (`bash scripts/test`), this only measures.
/// Model throughput (prompt and generation tokens/s) is `cria bench`.
@main
struct ComponentBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ComponentBench",
        abstract: "Time the sampler chain, grammar token masks and chat-template rendering (no model needed)."
    )

    @Argument(help: "Which parts to time: sampling, grammar, templates (default: all).")
    var parts: [Part] = Part.allCases

    @Option(help: "Sampled tokens per sampler-chain configuration.")
    var samplingTokens = 300

    @Option(help: "Vocabulary size of the synthetic vocabularies (Gemma 3 has 262,144 tokens).")
    var vocabulary = 262_144

    @Option(name: .customLong("chat-template-file"), help: "Time this Jinja chat template instead of the built-in sample.")
    var chatTemplateFile: String?

    enum Part: String, CaseIterable, ExpressibleByArgument {
        case sampling, grammar, templates
    }

    func run() throws {
        for part in parts {
            switch part {
            case .sampling: SamplingBench(vocabularySize: vocabulary, tokens: samplingTokens).run()
            case .grammar: try GrammarBench(vocabularySize: vocabulary).run()
            case .templates: try TemplateBench(templateFile: chatTemplateFile).run()
            }
        }
    }
}

/// A small deterministic generator for benchmark inputs.
struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    /// Uniform in [0, 1).
    mutating func unit() -> Double { Double(next() >> 11) / Double(1 << 53) }
}

/// `text` padded with spaces to `width` characters (String(format:) cannot pad strings on Linux).
func padded(_ text: String, _ width: Int) -> String {
    text.count >= width ? text : text + String(repeating: " ", count: width - text.count)
}

/// Seconds taken by `body`.
func seconds(_ body: () throws -> Void) rethrows -> Double {
    let clock = ContinuousClock()
    let elapsed = try clock.measure(body)
    return Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18
}
