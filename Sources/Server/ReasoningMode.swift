import JSON

/// `--reasoning on|off|auto`: whether chat templates are asked to think (`enable_thinking`),
/// or left to their own default.
public enum ReasoningMode: String, Sendable {
    case on, off, auto
}

extension ReasoningMode {
    /// The thinking-block markers cria knows, as (open, close) pairs.
    static let thinkingMarkers = [("<think>", "</think>"), ("<|START_THINKING|>", "<|END_THINKING|>")]

    /// Template variables for this mode. Like llama-server, `enable_thinking` is always defined
    /// (true unless reasoning is off), so templates that test `not enable_thinking` keep thinking.
    var templateVariables: [String: JSONValue] {
        ["enable_thinking": .bool(self != .off)]
    }

    /// With reasoning off, a generation prompt must not leave the model inside a thinking block.
    /// Templates that honour `enable_thinking` close it themselves; for those that do not
    /// (DeepSeek R1, QwQ open `<think>` unconditionally; Command R7B opens none but expects one),
    /// an empty block is completed or added, as llama-server does for these formats.
    func adjust(prompt: String, templateSource: String) -> String {
        guard self == .off else { return prompt }
        let trimmed = prompt.reversed().drop(while: \.isWhitespace)
        for (open, close) in Self.thinkingMarkers where templateSource.contains(open) {
            if String(trimmed.reversed()).hasSuffix(close) { return prompt }
            if String(trimmed.reversed()).hasSuffix(open) { return prompt + close }
            return prompt + open + close
        }
        return prompt
    }
}
