import ArgumentParser
import Foundation
import GGUF
import JSON
import Templates

/// `cria template`: renders a chat with a model's template (or a named/explicit one), for users
/// debugging what prompt a server would build.
struct TemplateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "template",
        abstract: "Render chat messages with a chat template.",
        discussion: "The template comes from --chat-template-file, else --chat-template (a built-in name such as chatml, llama3, gemma, or Jinja source), else the model's tokenizer.chat_template, else ChatML."
    )

    @Option(name: [.short, .customLong("model")], help: "Model whose template (and BOS/EOS text) to use.")
    var model: String?

    @Option(name: .customLong("chat-template"), help: "Built-in template name or Jinja source.")
    var chatTemplate: String?

    @Option(name: .customLong("chat-template-file"), help: "File holding Jinja template source.")
    var chatTemplateFile: String?

    @Option(name: .customLong("messages"), help: "JSON file with an array of messages.")
    var messages: String

    @Option(name: .customLong("tools"), help: "JSON file with an array of tool definitions.")
    var tools: String?

    @Flag(name: .customLong("add-generation-prompt"), help: "Append the assistant-turn opener.")
    var addGenerationPrompt = false

    @Option(name: .customLong("bos"), help: "BOS token text (default: the model's, else empty).")
    var bos: String?

    @Option(name: .customLong("eos"), help: "EOS token text (default: the model's, else empty).")
    var eos: String?

    func run() throws {
        var metadata: GGUFMetadata?
        if let model { metadata = try GGUFFile(path: model).metadata }
        let template = try resolveTemplate(metadata)
        let messageValues = try readArray(messages, what: "messages")
        let toolValues = try tools.map { try readArray($0, what: "tools") }
        let tokens = metadata?.stringArray("tokenizer.ggml.tokens")
        func tokenText(_ key: String) -> String? {
            guard let id = metadata?.int(key), let tokens, id >= 0, id < tokens.count else { return nil }
            return tokens[id]
        }
        do {
            let text = try template.render(messages: messageValues, addGenerationPrompt: addGenerationPrompt, tools: toolValues,
                                           bosToken: bos ?? tokenText("tokenizer.ggml.bos_token_id") ?? "",
                                           eosToken: eos ?? tokenText("tokenizer.ggml.eos_token_id") ?? "")
            FileHandle.standardOutput.write(Data(text.utf8))
        } catch let error as TemplateError {
            throw CommandError("template error: \(error)")
        } catch let error as UnknownTemplateName {
            throw CommandError("--chat-template: \(error)")
        }
    }

    private func resolveTemplate(_ metadata: GGUFMetadata?) throws -> ChatTemplate {
        do {
            if let file = chatTemplateFile {
                guard let data = FileManager.default.contents(atPath: file) else {
                    throw CommandError("cannot read template file '\(file)'")
                }
                return try ChatTemplate(source: String(decoding: data, as: UTF8.self))
            }
            if let chatTemplate { return try ChatTemplate.resolve(nameOrSource: chatTemplate) }
            if let source = metadata?.string("tokenizer.chat_template") { return try ChatTemplate(source: source) }
            return ChatTemplate.defaultFallback
        } catch let error as TemplateError {
            throw CommandError("template error: \(error)")
        } catch let error as UnknownTemplateName {
            throw CommandError("--chat-template: \(error)")
        }
    }

    private func readArray(_ path: String, what: String) throws -> [JSONValue] {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw CommandError("cannot read \(what) file '\(path)'")
        }
        let value: JSONValue
        do { value = try JSONValue.parse(utf8: Array(data)) } catch {
            throw CommandError("\(what) file '\(path)' is not valid JSON: \(error)")
        }
        guard case .array(let items) = value else { throw CommandError("\(what) file '\(path)' must hold a JSON array") }
        return items
    }
}
