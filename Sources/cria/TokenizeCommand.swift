import ArgumentParser
import Tokenization

/// `cria tokenize`: prints the token ids (and optionally pieces) of a text.
struct TokenizeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "tokenize", abstract: "Tokenize text with a model's vocabulary.")

    @OptionGroup var options: ModelOptions

    @Option(name: [.short, .customLong("prompt")], help: "Text to tokenize.")
    var prompt: String

    @Flag(name: .customLong("no-bos"), help: "Do not add the BOS token.")
    var noBOS = false

    @Flag(name: .customLong("parse-special"), help: "Parse special-token text such as <start_of_turn> to its id.")
    var parseSpecial = false

    @Flag(name: .customLong("show-pieces"), help: "Print each id with its piece.")
    var showPieces = false

    func run() throws {
        let tokenizer = try Tokenizer(file: options.openFile())
        let ids = tokenizer.tokenize(prompt, addSpecial: !noBOS, parseSpecial: parseSpecial)
        if showPieces {
            for id in ids { print("\(id) -> '\(tokenizer.pieceString(id))'") }
        } else {
            print("[" + ids.map(String.init).joined(separator: ", ") + "]")
        }
    }
}
