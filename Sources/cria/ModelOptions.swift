import ArgumentParser
import Foundation
import GGUF
import Models
import CriaNumerics
import Tokenization

/// Options shared by the commands that load a model (`run`, `tokenize`, `perplexity`).
struct ModelOptions: ParsableArguments {
    /// A line to stderr, so stdout stays the command's output.
    private func printError(_ line: String) {
        FileHandle.standardError.write(Data((line + "\n").utf8))
    }

    @Option(name: [.short, .customLong("model")], help: "Path to a .gguf model.")
    var model: String

    @Option(name: [.short, .customLong("threads")], parsing: .unconditional, help: "Compute threads (default: one per physical core, \(CPUCores.defaultThreadCount) here).")
    var threads: Int?

    @Flag(name: .customLong("no-mmap"), help: "Read the model into memory instead of mapping it.")
    var noMmap = false

    @Option(name: .customLong("numerics"), help: NumericsMode.help)
    var numerics = NumericsMode.invariant

    @OptionGroup var gpu: GPUOptions
    @OptionGroup var rope: RoPEOptions

    func validate() throws {
        try ThreadCountCheck.check("-t", threads)
    }

    func openFile() throws -> GGUFFile {
        try GGUFFile(path: model, mode: noMmap ? .read : .mmap)
    }

    func loadModel(_ file: GGUFFile) throws -> TransformerModel {
        let model = try TransformerModel(file: file, threads: ThreadCountCheck.generation(threads), offload: try gpu.request { printError("warning: " + $0) },
                                     rope: try rope.override())
        model.numerics = numerics
        if let offload = GPUOptions.describe(model) {
            printError(offload.summary)
            if let warning = offload.warning { printError("warning: " + warning) }
        }
        return model
    }
}
