import Foundation
import JSON

/// A compiled chat template: either Jinja source (as shipped in a model's
/// `tokenizer.chat_template`) rendered with jinja2 semantics, or one of llama.cpp's
/// built-in named formats. Parse once, render many times; it is immutable and `Sendable`.
public struct ChatTemplate: Sendable {
    private enum Storage: Sendable {
        case jinja([Node])
        case builtin(BuiltinTemplate)
    }

    private let storage: Storage
    /// The Jinja source, or the built-in name.
    public let source: String

    /// Parses Jinja source. Throws `TemplateError` (kind `.syntax`) for malformed templates.
    public init(source: String) throws {
        self.source = source
        storage = .jinja(try Parser.parse(source))
    }

    /// Wraps a built-in named format.
    public init(builtin: BuiltinTemplate) {
        source = builtin.rawValue
        storage = .builtin(builtin)
    }

    /// The built-in format this template is, if it is one.
    public var builtin: BuiltinTemplate? {
        if case .builtin(let b) = storage { return b }
        return nil
    }

    /// `--chat-template NAME_OR_SOURCE`: a known built-in name selects that format; a word that
    /// looks like a name (letters, digits, `.`, `_`, `-` only) but is not one is refused with
    /// `UnknownTemplateName`, which lists the names; anything else is Jinja source.
    ///
    /// llama-server with `--jinja` (its default) takes any text as Jinja source, so a mistyped
    /// name silently renders itself for every chat. Text with spaces or markup stays source here
    /// too (its own test suite passes a plain sentence as a template); only a bare unknown word is
    /// refused, because it can only be a mistyped name.
    public static func resolve(nameOrSource: String) throws -> ChatTemplate {
        let trimmed = nameOrSource.trimmingCharacters(in: .whitespacesAndNewlines)
        if let b = BuiltinTemplate(rawValue: trimmed) { return ChatTemplate(builtin: b) }
        let nameCharacters = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-")
        if !trimmed.isEmpty && trimmed.allSatisfy(nameCharacters.contains) { throw UnknownTemplateName(name: trimmed) }
        return try ChatTemplate(source: nameOrSource)
    }

    /// What llama-server uses for a model without a chat template: ChatML.
    public static let defaultFallback = ChatTemplate(builtin: .chatml)

    /// Renders a conversation the way transformers' `apply_chat_template` does.
    ///
    /// - Parameters:
    ///   - messages: OpenAI-style messages (`role`, `content` as string or parts, `tool_calls`, ...).
    ///   - addGenerationPrompt: append the assistant-turn opener.
    ///   - tools: tool definitions, or nil (templates then see `tools` = None).
    ///   - bosToken / eosToken: the model's special token texts.
    ///   - extra: further variables (e.g. `enable_thinking`, `reasoning_effort`, `documents`);
    ///     they override the defaults above.
    public func render(
        messages: [JSONValue],
        addGenerationPrompt: Bool = true,
        tools: [JSONValue]? = nil,
        bosToken: String = "",
        eosToken: String = "",
        extra: [String: JSONValue] = [:],
        options: RenderOptions = RenderOptions()
    ) throws -> String {
        switch storage {
        case .builtin(let b):
            return try b.format(messages: messages, addAssistant: addGenerationPrompt, bosToken: bosToken, eosToken: eosToken)
        case .jinja:
            var vars: [String: JSONValue] = [
                "messages": .array(messages),
                "add_generation_prompt": .bool(addGenerationPrompt),
                "bos_token": .string(bosToken),
                "eos_token": .string(eosToken),
                "tools": tools.map { .array($0) } ?? .null,
                "documents": .null,
            ]
            for (k, v) in extra { vars[k] = v }
            return try render(variables: vars, options: options)
        }
    }

    /// Renders with an explicit set of template variables (no chat defaults added).
    /// For a built-in template the chat variables are read from `variables`.
    public func render(variables: [String: JSONValue], options: RenderOptions = RenderOptions()) throws -> String {
        switch storage {
        case .builtin(let b):
            var msgs: [JSONValue] = []
            if case .array(let a)? = variables["messages"] { msgs = a }
            var addGen = false
            if case .bool(let g)? = variables["add_generation_prompt"] { addGen = g }
            var bos = "", eos = ""
            if case .string(let s)? = variables["bos_token"] { bos = s }
            if case .string(let s)? = variables["eos_token"] { eos = s }
            return try b.format(messages: msgs, addAssistant: addGen, bosToken: bos, eosToken: eos)
        case .jinja(let nodes):
            let interp = Interpreter(options: options)
            defer { interp.finish() }
            let globals = Scope(parent: nil, vars: Globals.make(options))
            var top: [String: Value] = [:]
            for (k, v) in variables { top[k] = Value(v) }
            let scope = Scope(parent: globals, vars: top)
            _ = try interp.exec(nodes, scope)
            return interp.out
        }
    }
}
