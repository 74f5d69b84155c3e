import ArgumentParser
import GGUF

/// `cria info MODEL.gguf`: metadata and tensor table of a GGUF file.
struct InfoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "info",
        abstract: "Print a GGUF file's metadata and tensor table."
    )

    @Argument(help: "Path to a .gguf file.")
    var model: String

    @Option(name: .customLong("max-array"), help: "Array items to print per metadata value.")
    var maxArrayItems = 8

    @Flag(name: .customLong("no-mmap"), help: "Read the file into memory instead of mapping it.")
    var noMmap = false

    func run() throws {
        // A GGUFError's description names the problem and offset; ArgumentParser prints it
        // as "Error: …" and exits with status 1.
        let file = try GGUFFile(path: model, mode: noMmap ? .read : .mmap)
        print(GGUFSummary(maxArrayItems: maxArrayItems).render(file, path: model))
    }
}
