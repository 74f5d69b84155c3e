import ArgumentParser
import Foundation
import Models
import Tokenization

/// `cria perplexity`: perplexity of a model on a text file, as llama-perplexity computes it.
struct PerplexityCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "perplexity", abstract: "Measure perplexity on a text file.")

    @OptionGroup var options: ModelOptions
    @OptionGroup var kvCache: KVCacheOptions

    @Option(name: [.short, .customLong("file")], help: "Text file to score.")
    var file: String

    @Option(name: [.short, .customLong("ctx-size")], help: "Chunk length in tokens.")
    var contextSize = 512

    @Option(name: .customLong("chunks"), help: "Score at most this many chunks.")
    var chunks: Int?

    func validate() throws {
        guard contextSize >= 4 else { throw ValidationError("--ctx-size must be at least 4") }
    }

    func run() throws {
        guard let data = FileManager.default.contents(atPath: file) else {
            throw CommandError("cannot read text file '\(file)'")
        }
        let text = String(decoding: data, as: UTF8.self)
        let gguf = try options.openFile()
        let tokenizer = try Tokenizer(file: gguf)
        let model = try options.loadModel(gguf)
        let tokens = tokenizer.tokenize(text, addSpecial: true)
        guard let bos = tokenizer.vocabulary.bos else { throw CommandError("the model has no BOS token") }
        var evaluator = PerplexityEvaluator(model: model, contextLength: contextSize, bos: bos)
        evaluator.keyType = kvCache.keyType
        evaluator.valueType = kvCache.valueType
        _ = try kvCache.makeCache(model, capacity: 1)  // the model's head size fits the formats
        guard evaluator.chunkCount(tokens: tokens.count) > 0 else {
            throw CommandError("\(tokens.count) tokens is less than one chunk of \(contextSize)")
        }
        print("\(tokens.count) tokens, \(evaluator.chunkCount(tokens: tokens.count)) chunks of \(contextSize)")
        let result = try evaluator.evaluate(tokens: tokens, maxChunks: chunks) { p in
            print(String(format: "[%d/%d] %.4f", p.chunk, p.chunkCount, p.perplexity))
        }
        print(String(format: "Final estimate: PPL = %.4f over %d chunks (%d scored tokens)",
                     result.perplexity, result.chunk, result.scoredTokens))
    }
}
