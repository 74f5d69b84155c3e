import ArgumentParser

/// Flags of today's llama-server for features cria does not have (speculative decoding, the
/// multi-model router, MCP and built-in agent tools, control vectors, RPC back ends).
///
/// They are parsed so that `cria serve` can name the missing feature instead of failing with
/// "Unknown option", and so that a script relying on one of them stops at once rather than
/// running without it. Nothing here is ever silently ignored.
struct UnsupportedServeOptions: ParsableArguments {
    @Option(name: [.customLong("model-draft"), .customLong("spec-draft-model"), .customLong("md", withSingleDash: true)],
            help: .hidden)
    var modelDraft: String?
    @Option(name: [.customLong("hf-repo-draft"), .customLong("spec-draft-hf"), .customLong("hfd", withSingleDash: true)],
            help: .hidden)
    var hfRepoDraft: String?
    @Option(name: .customLong("spec-type"), help: .hidden)
    var specType: String?
    @Option(name: [.customLong("draft-max"), .customLong("draft"), .customLong("draft-n"), .customLong("spec-draft-n-max")],
            help: .hidden)
    var draftMax: Int?
    @Option(name: [.customLong("draft-min"), .customLong("draft-n-min"), .customLong("spec-draft-n-min")], help: .hidden)
    var draftMin: Int?
    @Option(name: .customLong("models-dir"), help: .hidden)
    var modelsDir: String?
    @Option(name: .customLong("models-preset"), help: .hidden)
    var modelsPreset: String?
    @Option(name: .customLong("models-max"), help: .hidden)
    var modelsMax: Int?
    @Flag(name: .customLong("no-models-autoload"), help: .hidden)
    var noModelsAutoload = false
    @Option(name: .customLong("mcp-servers-config"), help: .hidden)
    var mcpServersConfig: String?
    @Option(name: .customLong("mcp-servers-json"), help: .hidden)
    var mcpServersJSON: String?
    @Flag(name: [.customLong("ui-mcp-proxy"), .customLong("webui-mcp-proxy")], help: .hidden)
    var uiMCPProxy = false
    @Option(name: .customLong("tools"), help: .hidden)
    var tools: String?
    @Option(name: .customLong("tools-runtime"), help: .hidden)
    var toolsRuntime: String?
    @Flag(name: [.customLong("agent"), .customLong("ag", withSingleDash: true)], help: .hidden)
    var agent = false
    @Option(name: .customLong("control-vector"), help: .hidden)
    var controlVector: [String] = []
    @Option(name: .customLong("control-vector-scaled"), help: .hidden)
    var controlVectorScaled: [String] = []
    @Option(name: .customLong("rpc"), help: .hidden)
    var rpc: String?
    @Option(name: [.customLong("mmproj-url"), .customLong("mmu", withSingleDash: true)], help: .hidden)
    var mmprojURL: String?
    @Option(name: .customLong("media-path"), help: .hidden)
    var mediaPath: String?
    @Option(name: .customLong("sleep-idle-seconds"), parsing: .unconditional, help: .hidden)
    var sleepIdleSeconds: Int?
    @Option(name: .customLong("api-prefix"), help: .hidden)
    var apiPrefix: String?

    func validate() throws {
        func refuse(_ used: Bool, _ message: String) throws {
            if used { throw ValidationError(message) }
        }
        try refuse(modelDraft != nil || hfRepoDraft != nil || specType != nil || draftMax != nil || draftMin != nil,
                   "speculative decoding (--model-draft, --spec-type, --draft-*) is not supported by cria")
        try refuse(modelsDir != nil || modelsPreset != nil || modelsMax != nil || noModelsAutoload,
                   "the multi-model router (--models-dir, --models-preset, --models-max) is not supported by cria: "
                   + "run one cria serve per model with -m")
        try refuse(mcpServersConfig != nil || mcpServersJSON != nil || uiMCPProxy,
                   "MCP (--mcp-servers-config, --mcp-servers-json, --ui-mcp-proxy) is not supported by cria")
        try refuse(tools != nil || toolsRuntime != nil || agent,
                   "built-in agent tools (--tools, --tools-runtime, --agent) are not supported by cria")
        try refuse(!controlVector.isEmpty || !controlVectorScaled.isEmpty, "control vectors are not supported by cria")
        try refuse(rpc != nil, "--rpc: cria has no RPC back end; it runs on this machine's CPU")
        try refuse(mmprojURL != nil || mediaPath != nil, "--mmproj-url/--media-path: cria has no multimodal models")
        try refuse(sleepIdleSeconds.map { $0 != -1 } ?? false,
                   "--sleep-idle-seconds is not supported by cria: the model stays loaded (only -1, disabled, is accepted)")
        try refuse(apiPrefix.map { !$0.isEmpty } ?? false,
                   "--api-prefix is not supported by cria: serve it from the root path, or put a proxy in front")
    }
}
