import JSON

/// llama.cpp's built-in named chat formats, selected with `--chat-template NAME`
/// (without `--jinja`). Each is plain string formatting over (role, content) pairs,
/// reproducing llama.cpp's `llm_chat_apply_template` output; tools and other message
/// fields are ignored, as they are there.
public enum BuiltinTemplate: String, CaseIterable, Sendable {
    case chatml
    case llama2
    case llama2Sys = "llama2-sys"
    case llama2SysBos = "llama2-sys-bos"
    case llama2SysStrip = "llama2-sys-strip"
    case mistralV1 = "mistral-v1"
    case mistralV3 = "mistral-v3"
    case mistralV3Tekken = "mistral-v3-tekken"
    case mistralV7 = "mistral-v7"
    case mistralV7Tekken = "mistral-v7-tekken"
    case phi3
    case phi4
    case falcon3
    case zephyr
    case monarch
    case gemma
    case orion
    case openchat
    case vicuna
    case vicunaOrca = "vicuna-orca"
    case deepseek
    case deepseek2
    case deepseek3
    case commandR = "command-r"
    case llama3
    case chatglm3
    case chatglm4
    case glmedge
    case minicpm
    case exaone3
    case exaone4
    case rwkvWorld = "rwkv-world"
    case granite
    case megrez
    case bailing
    case llama4
    case smolvlm

    /// llama.cpp's `trim`: strips ASCII whitespace (C `isspace`) at both ends.
    static func trim(_ s: String) -> String {
        Methods.strip(s, chars: " \t\n\u{0B}\u{0C}\r", left: true, right: true)
    }

    /// Extracts (role, content) like llama-server does for non-Jinja templates:
    /// string content as is, a list of parts contributes its `text` parts.
    static func flatten(_ messages: [JSONValue]) -> [(role: String, content: String)] {
        messages.map { m in
            var role = ""
            if case .string(let r)? = member(m, "role") { role = r }
            var content = ""
            switch member(m, "content") {
            case .string(let s)?: content = s
            case .array(let parts)?:
                content = parts.compactMap { p -> String? in
                    if case .string(let t)? = member(p, "text") { return t }
                    return nil
                }.joined(separator: "\n")
            default: break
            }
            return (role, content)
        }
    }

    /// An object's member as a Jinja template sees it: the last one of a repeated key.
    private static func member(_ object: JSONValue, _ key: String) -> JSONValue? {
        object.objectMembers?.last { $0.key == key }?.value
    }

    func format(messages: [JSONValue], addAssistant: Bool, bosToken: String, eosToken: String) throws -> String {
        let chat = BuiltinTemplate.flatten(messages)
        let trim = BuiltinTemplate.trim
        var ss = ""
        switch self {
        case .chatml:
            for m in chat { ss += "<|im_start|>\(m.role)\n\(m.content)<|im_end|>\n" }
            if addAssistant { ss += "<|im_start|>assistant\n" }
        case .mistralV7, .mistralV7Tekken:
            let sp = self == .mistralV7 ? " " : ""
            for m in chat {
                switch m.role {
                case "system": ss += "[SYSTEM_PROMPT]\(sp)\(m.content)[/SYSTEM_PROMPT]"
                case "user": ss += "[INST]\(sp)\(m.content)[/INST]"
                default: ss += "\(sp)\(m.content)</s>"
                }
            }
        case .mistralV1, .mistralV3, .mistralV3Tekken:
            let leading = self == .mistralV1 ? " " : ""
            let trailing = self == .mistralV3Tekken ? "" : " "
            var insideTurn = false
            for m in chat {
                if !insideTurn { ss += "\(leading)[INST]\(trailing)"; insideTurn = true }
                switch m.role {
                case "system": ss += m.content + "\n\n"
                case "user": ss += m.content + leading + "[/INST]"
                default:
                    ss += trailing + (self == .mistralV3 ? trim(m.content) : m.content) + "</s>"
                    insideTurn = false
                }
            }
        case .llama2, .llama2Sys, .llama2SysBos, .llama2SysStrip:
            // The leading BOS is left to the tokenizer; later turns may carry `<s>` inline.
            var insideTurn = true
            ss += "[INST] "
            for m in chat {
                let content = self == .llama2SysStrip ? trim(m.content) : m.content
                if !insideTurn { insideTurn = true; ss += self == .llama2SysBos ? "<s>[INST] " : "[INST] " }
                switch m.role {
                case "system":
                    ss += self == .llama2 ? content + "\n" : "<<SYS>>\n\(content)\n<</SYS>>\n\n"
                case "user": ss += content + " [/INST]"
                default:
                    ss += content + "</s>"
                    insideTurn = false
                }
            }
        case .phi3:
            for m in chat { ss += "<|\(m.role)|>\n\(m.content)<|end|>\n" }
            if addAssistant { ss += "<|assistant|>\n" }
        case .phi4:
            for m in chat { ss += "<|im_start|>\(m.role)<|im_sep|>\(m.content)<|im_end|>" }
            if addAssistant { ss += "<|im_start|>assistant<|im_sep|>" }
        case .falcon3:
            for m in chat { ss += "<|\(m.role)|>\n\(m.content)\n" }
            if addAssistant { ss += "<|assistant|>\n" }
        case .zephyr:
            for m in chat { ss += "<|\(m.role)|>\n\(m.content)<|endoftext|>\n" }
            if addAssistant { ss += "<|assistant|>\n" }
        case .monarch:
            for (i, m) in chat.enumerated() { ss += (i == 0 ? "" : "<s>") + "\(m.role)\n\(m.content)</s>\n" }
            if addAssistant { ss += "<s>assistant\n" }
        case .gemma:
            // Gemma has no system role: system text is merged into the next user turn.
            var system = ""
            for m in chat {
                if m.role == "system" { system += trim(m.content); continue }
                let role = m.role == "assistant" ? "model" : m.role
                ss += "<start_of_turn>\(role)\n"
                if !system.isEmpty && role != "model" { ss += system + "\n\n"; system = "" }
                ss += trim(m.content) + "<end_of_turn>\n"
            }
            if addAssistant { ss += "<start_of_turn>model\n" }
        case .orion:
            var system = ""
            for m in chat {
                switch m.role {
                case "system": system += m.content
                case "user":
                    ss += "Human: "
                    if !system.isEmpty { ss += system + "\n\n"; system = "" }
                    ss += m.content + "\n\nAssistant: </s>"
                default: ss += m.content + "</s>"
                }
            }
        case .openchat:
            for m in chat {
                if m.role == "system" { ss += m.content + "<|end_of_turn|>"; continue }
                let role = m.role.prefix(1).uppercased() + m.role.dropFirst()
                ss += "GPT4 Correct \(role): \(m.content)<|end_of_turn|>"
            }
            if addAssistant { ss += "GPT4 Correct Assistant:" }
        case .vicuna, .vicunaOrca:
            for m in chat {
                switch m.role {
                case "system": ss += self == .vicunaOrca ? "SYSTEM: \(m.content)\n" : m.content + "\n\n"
                case "user": ss += "USER: \(m.content)\n"
                case "assistant": ss += "ASSISTANT: \(m.content)</s>\n"
                default: break
                }
            }
            if addAssistant { ss += "ASSISTANT:" }
        case .deepseek:
            for m in chat {
                switch m.role {
                case "system": ss += m.content
                case "user": ss += "### Instruction:\n\(m.content)\n"
                case "assistant": ss += "### Response:\n\(m.content)\n<|EOT|>\n"
                default: break
                }
            }
            if addAssistant { ss += "### Response:\n" }
        case .deepseek2:
            for m in chat {
                switch m.role {
                case "system": ss += m.content + "\n\n"
                case "user": ss += "User: \(m.content)\n\n"
                case "assistant": ss += "Assistant: \(m.content)<｜end▁of▁sentence｜>"
                default: break
                }
            }
            if addAssistant { ss += "Assistant:" }
        case .deepseek3:
            for m in chat {
                switch m.role {
                case "system": ss += m.content + "\n\n"
                case "user": ss += "<｜User｜>" + m.content
                case "assistant": ss += "<｜Assistant｜>" + m.content + "<｜end▁of▁sentence｜>"
                default: break
                }
            }
            if addAssistant { ss += "<｜Assistant｜>" }
        case .commandR:
            let tokens = ["system": "<|SYSTEM_TOKEN|>", "user": "<|USER_TOKEN|>", "assistant": "<|CHATBOT_TOKEN|>"]
            for m in chat {
                guard let t = tokens[m.role] else { continue }
                ss += "<|START_OF_TURN_TOKEN|>\(t)\(trim(m.content))<|END_OF_TURN_TOKEN|>"
            }
            if addAssistant { ss += "<|START_OF_TURN_TOKEN|><|CHATBOT_TOKEN|>" }
        case .llama3:
            for m in chat { ss += "<|start_header_id|>\(m.role)<|end_header_id|>\n\n\(trim(m.content))<|eot_id|>" }
            if addAssistant { ss += "<|start_header_id|>assistant<|end_header_id|>\n\n" }
        case .chatglm3:
            ss += "[gMASK]sop"
            for m in chat { ss += "<|\(m.role)|>\n \(m.content)" }
            if addAssistant { ss += "<|assistant|>" }
        case .chatglm4:
            ss += "[gMASK]<sop>"
            for m in chat { ss += "<|\(m.role)|>\n\(m.content)" }
            if addAssistant { ss += "<|assistant|>\n" }
        case .glmedge:
            for m in chat { ss += "<|\(m.role)|>\n\(m.content)" }
            if addAssistant { ss += "<|assistant|>" }
        case .minicpm:
            for m in chat {
                ss += m.role == "user" ? "<用户>\(trim(m.content))<AI>" : trim(m.content)
            }
        case .exaone3, .exaone4:
            for m in chat {
                switch m.role {
                case "system": ss += "[|system|]\(trim(m.content))[|endofturn|]\n"
                case "user": ss += "[|user|]\(trim(m.content))\n"
                case "assistant": ss += "[|assistant|]\(trim(m.content))[|endofturn|]\n"
                case "tool" where self == .exaone4: ss += "[|tool|]\(trim(m.content))[|endofturn|]\n"
                default: break
                }
            }
            if addAssistant { ss += "[|assistant|]" }
        case .rwkvWorld:
            for (i, m) in chat.enumerated() {
                switch m.role {
                case "system": ss += "System: \(trim(m.content))\n\n"
                case "user":
                    ss += "User: \(trim(m.content))\n\n"
                    if i == chat.count - 1 { ss += "Assistant:" }
                case "assistant": ss += "Assistant: \(trim(m.content))\n\n"
                default: break
                }
            }
        case .granite:
            for m in chat {
                ss += "<|start_of_role|>\(m.role)<|end_of_role|>"
                if m.role == "assistant_tool_call" { ss += "<|tool_call|>" }
                ss += m.content + "<|end_of_text|>\n"
            }
            if addAssistant { ss += "<|start_of_role|>assistant<|end_of_role|>\n" }
        case .megrez:
            for m in chat { ss += "<|role_start|>\(m.role)<|role_end|>\(m.content)<|turn_end|>" }
            if addAssistant { ss += "<|role_start|>assistant<|role_end|>" }
        case .bailing:
            for m in chat {
                let role = m.role == "user" ? "HUMAN" : m.role.uppercased()
                ss += "<role>\(role)</role>\(m.content)"
            }
            if addAssistant { ss += "<role>ASSISTANT</role>" }
        case .llama4:
            for m in chat { ss += "<|header_start|>\(m.role)<|header_end|>\n\n\(trim(m.content))<|eot|>" }
            if addAssistant { ss += "<|header_start|>assistant<|header_end|>\n\n" }
        case .smolvlm:
            ss += "<|im_start|>"
            for m in chat {
                switch m.role {
                case "system": ss += m.content + "\n\n"
                case "user": ss += "User: \(m.content)<end_of_utterance>\n"
                default: ss += "Assistant: \(m.content)<end_of_utterance>\n"
                }
            }
            if addAssistant { ss += "Assistant:" }
        }
        return ss
    }
}
