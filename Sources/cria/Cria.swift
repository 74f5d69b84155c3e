import ArgumentParser

/// The `cria` command: the server and the tools around it.
@main
struct Cria: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cria",
        abstract: "An LLM inference server for GGUF models, written in Swift.",
        subcommands: [InfoCommand.self, RunCommand.self, TokenizeCommand.self, PerplexityCommand.self, TemplateCommand.self,
                      BenchCommand.self]
    )
}
