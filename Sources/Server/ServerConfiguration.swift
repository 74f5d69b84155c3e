import JSON
import Serving

/// Everything `buildApplication` needs from the command line that is not the engine's business.
public struct ServerConfiguration: Sendable {
    public var host = "127.0.0.1"
    public var port = 8080
    /// `--path`: folder of static files, or nil.
    public var staticPath: String?
    /// `--api-key` and `--api-key-file` keys; empty means no authorization.
    public var apiKeys: [String] = []
    /// `--embedding`.
    public var embeddingsEnabled = false
    /// `--metrics`.
    public var metricsEnabled = false
    /// False with `--no-slots` (or the spec's `--slots-endpoint-disable`).
    public var slotsEndpointEnabled = true
    /// `--sleep-idle-seconds`: the model sleeps (is unloaded) after this long without work; nil
    /// never. `ModelHost.enableSleep` must be called too, with the way to load it again.
    public var sleepIdleSeconds: Int?
    /// Vertex AI's custom-container protocol (`AIP_MODE=PREDICTION`), or nil.
    public var vertexAI: VertexAIConfiguration?
    /// False with `--no-ui` / `--no-webui`: no built-in page at `/`.
    public var webUIEnabled = true
    /// `--cors-origins` and friends.
    public var cors = CORSPolicy()
    /// `--verbose`: chat completions include `__verbose` unless a request says `"verbose": false`.
    public var verbose = false
    /// `--reranking`: /rerank and /v1/rerank.
    public var rerankingEnabled = false
    /// False with `--no-jinja`: requests with `tools` are refused, as llama-server does.
    public var jinjaEnabled = true
    /// `--reasoning-format`: where thoughts go in chat replies.
    var reasoningFormat = ReasoningFormat.auto
    /// `--reasoning-format` from the command line (`none`, `deepseek`, `deepseek-legacy`, `auto`).
    public var reasoningFormatName: String {
        get { reasoningFormat.rawValue }
        set { reasoningFormat = ReasoningFormat(rawValue: newValue) ?? .auto }
    }
    /// `--reasoning-budget`: thinking tokens per chat reply before the end of thinking is forced;
    /// -1 is unlimited. A request's `reasoning_budget_tokens` wins.
    public var reasoningBudget = -1
    /// `--reasoning-budget-message`: text forced in front of the closing marker when the budget
    /// runs out. A request's `reasoning_budget_message` wins.
    public var reasoningBudgetMessage = ""
    /// `--chat-template-kwargs`: template variables for every chat; a request's
    /// `chat_template_kwargs` win key by key.
    public var chatTemplateKwargs: [String: JSONValue] = [:]
    /// `--slot-save-path`, or nil (slot save/restore disabled).
    public var slotSavePath: String?
    /// `-to`: read/write timeout in seconds.
    public var timeoutSeconds = 600
    /// `--threads-http`, or nil for the default.
    public var httpThreads: Int?
    /// `--shutdown-timeout`: how long running requests may go on after SIGINT/SIGTERM.
    public var shutdownGrace: Duration = .seconds(5)
    /// Largest accepted request body.
    public var maxBodyBytes = 8 << 20
    /// Where request lines and Hummingbird's own messages go (`--log-format`); nil logs no
    /// requests and leaves Hummingbird's messages to the `logger` given to `buildApplication`.
    public var log: ServerLog?
    /// `--ssl-key-file` and `--ssl-cert-file`: every listener serves HTTPS (TLS builds only).
    public var tls: ServerTLS?
    /// Open connections allowed over all listeners; `runListeners` sets one from the process's
    /// descriptor limit when this is nil.
    public var connectionLimit: ConnectionLimit?

    public init() {}
}
