import ArgumentParser
import TestSupport

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
