import ArgumentParser
import GGUF
import Models
import Tokenization

/// Options shared by the commands that load a model (`run`, `tokenize`, `perplexity`).
struct ModelOptions: ParsableArguments {
    @Option(name: [.short, .customLong("model")], help: "Path to a .gguf model.")
    var model: String

    @Option(name: [.short, .customLong("threads")], help: "Compute threads.")
    var threads: Int = 2

    @Flag(name: .customLong("no-mmap"), help: "Read the model into memory instead of mapping it.")
    var noMmap = false

    @Option(name: .customLong("numerics"), help: NumericsMode.help)
    var numerics = NumericsMode.invariant

    func openFile() throws -> GGUFFile {
        try GGUFFile(path: model, mode: noMmap ? .read : .mmap)
    }

    func loadModel(_ file: GGUFFile) throws -> TransformerModel {
        let model = try TransformerModel(file: file, threads: threads)
        model.numerics = numerics
        return model
    }
}
