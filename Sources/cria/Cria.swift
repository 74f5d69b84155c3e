import ArgumentParser
import Foundation

/// The `cria` command: the server and the tools around it.
@main
struct Cria: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cria",
        abstract: "An LLM inference server for GGUF models, written in Swift.",
        subcommands: [InfoCommand.self, RunCommand.self, TokenizeCommand.self, PerplexityCommand.self, TemplateCommand.self,
                      BenchCommand.self, ServeCommand.self]
    )

    /// llama.cpp reads `_` as `-` in every argument that starts with `--` (`--ctx_size`,
    /// `--n_gpu_layers`, older guides' spelling), so cria does too, in the name before any `=`.
    static func llamaSpelling(_ argument: String) -> String {
        guard argument.hasPrefix("--"), argument.count > 2 else { return argument }
        let name = argument.prefix { $0 != "=" }
        return name.replacingOccurrences(of: "_", with: "-") + argument.dropFirst(name.count)
    }

    /// Parses the command line (`_` read as `-` in long options, as llama.cpp); a bare `--numa` (no strategy, as llama-server allows) means
    /// `--numa distribute`.
    static func main() async {
        var arguments = CommandLine.arguments.dropFirst().map(llamaSpelling)
        if let i = arguments.firstIndex(of: "--numa"),
           i + 1 == arguments.count || !["distribute", "isolate", "numactl"].contains(arguments[i + 1]) {
            arguments.insert("distribute", at: i + 1)
        }
        do {
            var command = try parseAsRoot(arguments)
            if var command = command as? AsyncParsableCommand {
                try await command.run()
            } else {
                try command.run()
            }
        } catch {
            exit(withError: error)
        }
    }
}
