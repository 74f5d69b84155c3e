import ArgumentParser
import Foundation
import Models
import Sampling
import Tokenization

/// `cria run`: generates a continuation of a prompt and streams it to stdout.
struct RunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "run", abstract: "Generate text from a prompt.")

    @OptionGroup var options: ModelOptions
    @OptionGroup var kvCache: KVCacheOptions

    @Option(name: [.short, .customLong("prompt")], parsing: .unconditional, help: "Prompt text.")
    var prompt: String

    @Option(name: [.short, .customLong("n-predict")], parsing: .unconditional, help: "Tokens to generate (-1: until end of generation or context full).")
    var nPredict = 64

    @Option(name: [.short, .customLong("ctx-size")], help: "Context size in tokens.")
    var contextSize = 2048

    @Option(name: .customLong("temp"), parsing: .unconditional, help: "Temperature; 0 means greedy.")
    var temperature: Float = 0.8

    @Option(name: .customLong("top-k"), help: "Top-k sampling (0 = off).")
    var topK = 40

    @Option(name: .customLong("top-p"), help: "Top-p sampling (1 = off).")
    var topP: Float = 0.95

    @Option(name: .customLong("seed"), parsing: .unconditional, help: "Random seed (-1 = random).")
    var seed: Int64 = -1

    @Flag(name: .customLong("parse-special"), help: "Parse special-token text in the prompt.")
    var parseSpecial = false

    func validate() throws {
        guard nPredict >= -1 else { throw ValidationError("--n-predict must be -1 or more") }
        guard contextSize > 0 else { throw ValidationError("--ctx-size must be positive") }
    }

    func run() throws {
        let file = try options.openFile()
        let tokenizer = try Tokenizer(file: file)
        let model = try options.loadModel(file)
        let promptTokens = tokenizer.tokenize(prompt, addSpecial: true, parseSpecial: parseSpecial)
        guard promptTokens.count < contextSize else {
            throw CommandError("prompt has \(promptTokens.count) tokens, more than the context size \(contextSize)")
        }
        var parameters = SamplingParameters()
        parameters.temperature = temperature
        parameters.topK = topK
        parameters.topP = topP
        parameters.seed = seed
        let vocab = VocabularyInfo(size: model.config.vocabularySize, eosTokens: Array(tokenizer.vocabulary.endOfGeneration),
                                   newlineToken: tokenizer.vocabulary.nl)
        let sampler = try SamplerChain(parameters: parameters, vocabulary: vocab, contextSize: contextSize,
                                       tokenize: { tokenizer.tokenize($0, addSpecial: false) },
                                       piece: { (id: Int32, body: (UnsafeBufferPointer<UInt8>) -> Void) in
                                           tokenizer.withPieceBytes(id, special: true, body)
                                       })
        sampler.acceptPrompt(promptTokens)

        let cache = try kvCache.makeCache(model, capacity: contextSize)
        var detokenizer = tokenizer.makeStreamingDetokenizer()
        var batch = Batch(tokens: promptTokens, startPosition: 0)
        var generated = 0
        let start = Date()
        while nPredict < 0 || generated < nPredict {
            let logits = try model.forward(batch, cache: cache)
            let token = sampler.sample(logits: logits).token
            sampler.accept(token)
            if tokenizer.isEndOfGeneration(token) { break }
            emit(detokenizer.append(token))
            generated += 1
            let position = Int(cache.nextPosition(0))
            if position >= contextSize { break }
            batch = Batch(tokens: [token], startPosition: position)
        }
        emit(detokenizer.finish())
        print()
        let seconds = Date().timeIntervalSince(start)
        FileHandle.standardError.write(Data(String(format: "\n%d prompt tokens, %d generated in %.2f s (%.2f tok/s)\n",
                                                   promptTokens.count, generated, seconds,
                                                   Double(generated) / max(seconds, 1e-9)).utf8))
    }

    private func emit(_ text: String) {
        guard !text.isEmpty else { return }
        FileHandle.standardOutput.write(Data(text.utf8))
    }
}
