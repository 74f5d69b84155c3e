/// The tool-call format a chat template teaches its model, chosen from the template's source by
/// the markers it writes, as llama-server does.
enum ChatFormat: String, Sendable, CaseIterable {
    case hermes, llama3, mistral, gptOss, deepSeekR1, functionaryV3, commandR, generic

    /// The first format whose markers appear in `source`; `generic` when none does.
    init(templateSource source: String) {
        func has(_ s: String) -> Bool { source.contains(s) }
        if has(MistralSyntax.marker) { self = .mistral }
        else if has(HarmonySyntax.channel) { self = .gptOss }
        else if has(DeepSeekR1Syntax.callsBegin) { self = .deepSeekR1 }
        else if has(">>>all") { self = .functionaryV3 }
        else if has(CommandRSyntax.actionStart) { self = .commandR }
        else if has(HermesSyntax.open) { self = .hermes }
        else if has("<|start_header_id|>ipython<|end_header_id|>") || has(Llama3Syntax.pythonTag) { self = .llama3 }
        else { self = .generic }
    }

    var syntax: any ToolCallSyntax {
        switch self {
        case .hermes: HermesSyntax()
        case .llama3: Llama3Syntax()
        case .mistral: MistralSyntax()
        case .gptOss: HarmonySyntax()
        case .deepSeekR1: DeepSeekR1Syntax()
        case .functionaryV3: FunctionaryV3Syntax()
        case .commandR: CommandRSyntax()
        case .generic: GenericJSONSyntax()
        }
    }
}
