import ArgumentParser

/// The `cria` command: the server and the tools around it.
@main
struct Cria: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cria",
        abstract: "An LLM inference server for GGUF models, written in Swift.",
        subcommands: [InfoCommand.self, RunCommand.self, TokenizeCommand.self, PerplexityCommand.self, TemplateCommand.self,
                      BenchCommand.self, ServeCommand.self]
    )

    /// Parses the command line; a bare `--numa` (no strategy, as llama-server allows) means
    /// `--numa distribute`.
    static func main() async {
        var arguments = Array(CommandLine.arguments.dropFirst())
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
