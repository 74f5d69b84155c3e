import ArgumentParser
import Foundation
import JSON
import Tokenization

/// `cria tokenize`: prints the token ids (and optionally pieces) of a text, or of many texts.
///
/// Only the tokenizer is loaded, never the weights, so it also works on vocabulary-only GGUF
/// files (llama.cpp's `ggml-vocab-*.gguf`).
struct TokenizeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tokenize", abstract: "Tokenize text with a model's vocabulary.",
        discussion: "With --batch FILE, each line of FILE (- for standard input) is one JSON string; the output has one JSON array of token ids per input line, in order.")

    @OptionGroup var options: ModelOptions

    @Option(name: [.short, .customLong("prompt")], help: "Text to tokenize.")
    var prompt: String?

    @Option(name: .customLong("batch"), help: "JSON Lines file of texts to tokenize (one JSON string per line; - for standard input).")
    var batch: String?

    @Flag(name: .customLong("no-bos"), help: "Do not add the BOS token (or any special token the model adds around text).")
    var noBOS = false

    @Flag(name: .customLong("parse-special"), help: "Parse special-token text such as <start_of_turn> to its id.")
    var parseSpecial = false

    @Flag(name: .customLong("show-pieces"), help: "Print each id with its piece.")
    var showPieces = false

    func validate() throws {
        if (prompt == nil) == (batch == nil) {
            throw ValidationError("give exactly one of -p/--prompt and --batch")
        }
        if batch != nil && showPieces {
            throw ValidationError("--show-pieces prints one text's pieces; it does not combine with --batch")
        }
    }

    func run() throws {
        let tokenizer = try Tokenizer(file: options.openFile())
        if let batch {
            try tokenizeLines(of: batch, with: tokenizer)
            return
        }
        let ids = tokenizer.tokenize(prompt ?? "", addSpecial: !noBOS, parseSpecial: parseSpecial)
        if showPieces {
            for id in ids { print("\(id) -> '\(tokenizer.pieceString(id))'") }
        } else {
            print(Self.idList(ids))
        }
    }

    /// Reads the whole input first so that a malformed line fails before any output.
    private func tokenizeLines(of path: String, with tokenizer: Tokenizer) throws {
        let data: Data
        if path == "-" {
            data = FileHandle.standardInput.readDataToEndOfFile()
        } else {
            guard let contents = FileManager.default.contents(atPath: path) else {
                throw CommandError("cannot read --batch file '\(path)'")
            }
            data = contents
        }
        var texts: [String] = []
        var lineNumber = 0
        for line in data.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false) {
            lineNumber += 1
            var bytes = Array(line)
            if bytes.last == UInt8(ascii: "\r") { bytes.removeLast() }
            if bytes.isEmpty { continue }  // blank lines (and the one after the final newline)
            let value: JSONValue
            do {
                value = try JSONValue.parse(utf8: bytes)
            } catch {
                throw CommandError("--batch line \(lineNumber): \(error)")
            }
            guard let text = value.stringValue else {
                throw CommandError("--batch line \(lineNumber): expected a JSON string, got \(value.serialized().prefix(40))")
            }
            texts.append(text)
        }
        var out = ""
        for text in texts {
            out += Self.idList(tokenizer.tokenize(text, addSpecial: !noBOS, parseSpecial: parseSpecial))
            out += "\n"
        }
        FileHandle.standardOutput.write(Data(out.utf8))
    }

    private static func idList(_ ids: [Int32]) -> String {
        "[" + ids.map(String.init).joined(separator: ", ") + "]"
    }
}
