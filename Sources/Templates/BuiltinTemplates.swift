/// llama.cpp's built-in named chat formats (`--chat-template NAME` without Jinja).
public enum BuiltinTemplate: String, CaseIterable, Sendable {
    case chatml

    func format(messages: [TemplateValue], addAssistant: Bool, bosToken: String, eosToken: String) throws -> String {
        var out = ""
        for m in messages {
            out += "<|im_start|>\(m["role"].map { Value($0).pythonStr } ?? "")\n\(m["content"].map { Value($0).pythonStr } ?? "")<|im_end|>\n"
        }
        if addAssistant { out += "<|im_start|>assistant\n" }
        return out
    }
}
