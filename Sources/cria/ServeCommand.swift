import ArgumentParser
import Foundation
import CriaNumerics
import GGUF
import JSON
import Models
import Sampling
import Server
import Serving
import Templates
import Tokenization

/// `cria serve`: llama-server's command line. Parses flags, then hands the pieces to
/// `ServerLauncher`; the HTTP server starts at once and answers 503 until the model is loaded.
struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Serve a GGUF model over HTTP with llama-server's API (native and OpenAI-compatible)."
    )

    // Model
    @Option(name: [.customShort("m"), .customLong("model")],
            help: "Path to the GGUF model file (without it the server starts with no model, answering /health and /v1/models only).")
    var model: String?
    @Option(name: .customLong("tags"), help: "Comma-separated model tags, listed by /v1/models (informational).")
    var tags: String?
    @Flag(name: .customLong("offline"), help: "Never touch the network: -mu/-hfr use the cached file only.")
    var offline = false
    @Option(name: [.customLong("mu", withSingleDash: true), .customLong("model-url")],
            help: "Download the model from this URL (into -m PATH if given, else the cache: $CRIA_CACHE, default ~/.cache/cria).")
    var modelURL: String?
    @Option(name: [.customLong("hfr", withSingleDash: true), .customLong("hf-repo")],
            help: "Hugging Face repository OWNER/NAME to download --hf-file from ($HF_ENDPOINT, default https://huggingface.co).")
    var hfRepo: String?
    @Option(name: [.customLong("hff", withSingleDash: true), .customLong("hf-file")], help: "File in the --hf-repo repository.")
    var hfFile: String?
    @Option(name: [.customLong("hft", withSingleDash: true), .customLong("hf-token")],
            help: "Hugging Face token for gated or private repositories (default: $HF_TOKEN).")
    var hfToken: String?
    @Option(name: [.customShort("a"), .customLong("alias")], help: "Model name reported by the API.")
    var alias: String?
    @Flag(name: .customLong("no-mmap"), help: "Read the model into memory instead of mapping it.")
    var noMmap = false
    @Option(name: .customLong("numerics"), help: NumericsMode.help)
    var numerics = NumericsMode.invariant
    @Flag(name: .customLong("mlock"), help: "Lock the model in memory so it cannot be swapped out.")
    var mlock = false
    @Option(name: .customLong("numa"), help: "NUMA strategy: distribute, isolate or numactl (a bare --numa means distribute); accepted, no effect.")
    var numa: String?
    @OptionGroup var loraOptions: LoraOptions
    @Option(name: .customLong("mmproj"), help: "Multimodal projector (not supported).")
    var mmproj: String?
    @Option(name: .customLong("ssl-key-file"), help: ArgumentHelp(ServerTLS.isAvailable
        ? "PEM private key: serve HTTPS (with --ssl-cert-file)."
        : "PEM private key for HTTPS (this build has no TLS: build with --traits TLS).", valueName: "FNAME"))
    var sslKeyFile: String?
    @Option(name: .customLong("ssl-cert-file"), help: ArgumentHelp(ServerTLS.isAvailable
        ? "PEM certificate (chain, leaf first): serve HTTPS (with --ssl-key-file)."
        : "PEM certificate for HTTPS (this build has no TLS: build with --traits TLS).", valueName: "FNAME"))
    var sslCertFile: String?

    // Context and batching
    @Option(name: [.customShort("c"), .customLong("ctx-size")], help: "Total context, split between slots (0 = the model's).")
    var contextSize = 512
    @Option(name: [.customLong("np", withSingleDash: true), .customLong("parallel")], help: "Number of slots.")
    var parallel = 1
    @Flag(name: [.customLong("cb", withSingleDash: true), .customLong("cont-batching")], help: "Continuous batching (always on).")
    var continuousBatching = false
    @Option(name: [.customShort("b"), .customLong("batch-size")], help: "Logical batch size: most prompt tokens taken in one step.")
    var logicalBatchSize = 2048
    @Option(name: [.customLong("ub", withSingleDash: true), .customLong("ubatch-size")], help: "Physical batch size: most rows in one forward pass (the engine uses min(-b, -ub)).")
    var microBatchSize = 512
    @Option(name: [.customShort("n"), .customLong("n-predict"), .customLong("predict")], parsing: .unconditional, help: "Most tokens to generate per request (-1 = no limit).")
    var nPredict = -1
    @Option(name: [.customLong("grp-attn-n"), .customLong("gan", withSingleDash: true)],
            help: "Self-extend: old tokens share positions this many at a time (1 = off).")
    var groupAttentionN = 1
    @Option(name: [.customLong("grp-attn-w"), .customLong("gaw", withSingleDash: true)],
            help: "Self-extend: the window of positions grouped at a time (a multiple of --grp-attn-n).")
    var groupAttentionW = 512
    @Option(name: .customLong("pooling"), help: "Embedding pooling: none, mean, cls or last (default: the model's, else mean).")
    var pooling: String?
    @Flag(name: .customLong("context-shift"), inversion: .prefixedNo,
          help: "When a slot's context fills during generation, discard half of it and go on (default: on, as the spec).")
    var contextShift = true
    @Flag(name: [.customLong("kvu", withSingleDash: true), .customLong("kv-unified")],
          help: "Every slot may use the whole -c context instead of -c / -np.")
    var kvUnified = false
    @Flag(name: [.customLong("no-kvu", withSingleDash: true), .customLong("no-kv-unified")], help: "Slots split -c evenly (the default).")
    var noKVUnified = false
    @OptionGroup var kvCache: KVCacheOptions
    @Option(name: [.customLong("fa", withSingleDash: true), .customLong("flash-attn")],
            help: "Flash attention: on, off or auto (cria has one CPU attention kernel: accepted, no effect).")
    var flashAttention = "auto"
    @Flag(name: .customLong("swa-full"), help: "Full-size cache for sliding-window layers (cria always keeps one).")
    var swaFull = false
    @Option(name: [.customLong("cram", withSingleDash: true), .customLong("cache-ram")], parsing: .unconditional,
            help: "Keep prompts that slots give up in host memory, up to this many MiB (-1: no limit; default 0: off).")
    var cacheRAM: Int?
    @Flag(name: .customLong("cache-idle-slots"), inversion: .prefixedNo,
          help: "Accepted; no effect: cria's slots do not share KV cells, so idle slots need not be moved out.")
    var cacheIdleSlots = true
    @Option(name: .customLong("cache-reuse"), parsing: .unconditional,
            help: "Smallest chunk llama-server reuses by KV shifting; cria reuses cached prompts by common prefix only (N > 0 warns).")
    var cacheReuse = 0
    @Option(name: .customLong("keep"), parsing: .unconditional,
            help: "Prompt tokens kept on a context shift by requests without n_keep (-1: all; default 0).")
    var keep = 0
    @OptionGroup var rope: RoPEOptions

    // Threads and hardware
    @Option(name: [.customShort("t"), .customLong("threads")], parsing: .unconditional, help: "Threads for generation (forward passes of one token; default: one per physical core).")
    var threads: Int?
    @Option(name: [.customLong("tb", withSingleDash: true), .customLong("threads-batch")], parsing: .unconditional, help: "Threads for batches of several tokens: prompts, several slots (default: -t).")
    var threadsBatch: Int?
    @Option(name: .customLong("threads-http"), parsing: .unconditional, help: "Threads of the HTTP server.")
    var threadsHTTP: Int?
    @OptionGroup var gpu: GPUOptions

    // HTTP
    @Option(name: .customLong("host"), help: "Address to listen on.")
    var host = "127.0.0.1"
    @Option(name: .customLong("port"), help: "Port to listen on.")
    var port = 8080
    @Option(name: .customLong("path"), help: "Folder of static files to serve.")
    var path: String?
    @Option(name: .customLong("api-key"), help: "API key required as a Bearer token (repeatable).")
    var apiKeys: [String] = []
    @Option(name: .customLong("api-key-file"), help: "File with one API key per line.")
    var apiKeyFile: String?
    @Option(name: [.customLong("to", withSingleDash: true), .customLong("timeout")], help: "Read/write timeout in seconds.")
    var timeout = 600
    @Flag(name: [.customLong("embedding"), .customLong("embeddings")], help: "Enable /embedding and /v1/embeddings.")
    var embedding = false
    @Option(name: [.customLong("spf", withSingleDash: true), .customLong("system-prompt-file")], help: "JSON file with the system prompt.")
    var systemPromptFile: String?
    @Option(name: .customLong("chat-template"), help: "Chat template: a built-in name or Jinja source.")
    var chatTemplate: String?
    @Flag(name: .customLong("slots-endpoint-disable"), help: "Disable GET /slots (the spec's spelling of --no-slots).")
    var slotsEndpointDisable = false
    @Flag(name: .customLong("slots"), inversion: .prefixedNo, help: "Expose GET /slots (default: on).")
    var slotsEndpoint = true
    @Flag(name: [.customLong("ui"), .customLong("webui")], inversion: .prefixedNo, help: "Serve the built-in web page at / (default: on).")
    var webUI = true
    @Option(name: .customLong("cors-origins"), help: "Allowed CORS origins: *, localhost (reflect local origins only) or one origin (default: *).")
    var corsOrigins: String?
    @Option(name: .customLong("cors-methods"), help: "Access-Control-Allow-Methods for preflights.")
    var corsMethods = "GET, POST, DELETE, OPTIONS"
    @Option(name: .customLong("cors-headers"), help: "Access-Control-Allow-Headers for preflights.")
    var corsHeaders = "*"
    @Flag(name: .customLong("cors-credentials"), inversion: .prefixedNo, help: "Allow credentials on CORS requests (default: on).")
    var corsCredentials = true
    @Flag(name: [.customLong("rerank"), .customLong("reranking")], help: "Enable /rerank and /v1/rerank (needs a reranker model).")
    var reranking = false
    @Flag(name: .customLong("props"), help: "Allow POST /props (always allowed in cria, as the spec).")
    var propsEndpoint = false
    @Flag(name: .customLong("jinja"), inversion: .prefixedNo, help: "Chat templates run in cria's Jinja interpreter (default: on; --no-jinja rejects tools).")
    var jinja = true
    @Option(name: .customLong("chat-template-file"), help: "File with a Jinja chat template.")
    var chatTemplateFile: String?
    @Option(name: .customLong("chat-template-kwargs"),
            help: "JSON object of chat template variables for every chat, e.g. '{\"enable_thinking\": false}' (a request's chat_template_kwargs win key by key).")
    var chatTemplateKwargs: String?
    @Flag(name: [.customLong("sp", withSingleDash: true), .customLong("special")],
          help: "Show special (control) tokens' text in generated text.")
    var special = false
    @Option(name: .customLong("reasoning-format"), help: "How thoughts are returned: none, deepseek, deepseek-legacy or auto.")
    var reasoningFormat = "auto"
    @Option(name: .customLong("reasoning-budget"),
            help: "Thinking tokens per chat reply: -1 unlimited (default), 0 no thinking (as --reasoning off), N>0 the end of thinking is forced after N tokens.")
    var reasoningBudget = -1
    @Option(name: .customLong("reasoning-budget-message"),
            help: "Text forced before the end-of-thinking marker when the reasoning budget runs out (default: none).")
    var reasoningBudgetMessage = ""
    @Option(name: [.customLong("rea", withSingleDash: true), .customLong("reasoning")], help: "Reasoning in chats: on, off or auto (the template decides).")
    var reasoning = "auto"
    @Flag(name: .customLong("metrics"), help: "Enable GET /metrics (Prometheus).")
    var metrics = false
    @Option(name: .customLong("slot-save-path"), help: "Folder for slot save/restore files.")
    var slotSavePath: String?
    @Option(name: .customLong("shutdown-timeout"),
            help: "Seconds running requests may go on after SIGINT/SIGTERM before they are ended (default: 5).")
    var shutdownTimeout: Double = 5
    @Option(name: .customLong("sleep-idle-seconds"),
            help: "Unload the model after this many seconds without requests; the next request that needs it loads it again (default: -1, never).")
    var sleepIdleSeconds = -1

    @Flag(name: [.customShort("v"), .customLong("verbose"), .customLong("log-verbose")], help: "Log everything (-lv with no limit); chat completions carry __verbose (the native result with the rendered prompt) unless a request says \"verbose\": false.")
    var verbose = false

    @OptionGroup(title: "Logging")
    var logging: LogOptions
    @OptionGroup(title: "Sampling defaults (a request's own value wins)")
    var samplingDefaults: SamplingDefaultOptions
    @OptionGroup(title: "llama-server features cria does not have (the server stops if one is used)")
    var unsupported: UnsupportedServeOptions
    @OptionGroup var noEffect: NoEffectServeOptions

    func validate() throws {
        if modelURL != nil && (hfRepo != nil || hfFile != nil) {
            throw ValidationError("--model-url and --hf-repo/--hf-file both name the model: pass only one")
        }
        if (hfRepo == nil) != (hfFile == nil) {
            throw ValidationError("--hf-repo and --hf-file go together: name the repository (OWNER/NAME) and the GGUF file in it")
        }
        if mmproj != nil { throw ValidationError("--mmproj is not supported: cria has no multimodal models") }
        // llama-server has these only when built with LLAMA_SERVER_SSL, cria only when built with
        // the TLS trait; a build without it refuses them rather than silently serve plain HTTP to
        // a client that expects HTTPS.
        if sslKeyFile != nil || sslCertFile != nil {
            guard ServerTLS.isAvailable else {
                throw ValidationError("--ssl-key-file/--ssl-cert-file: \(ServerTLS.unavailableMessage)")
            }
            if sslKeyFile == nil { throw ValidationError("--ssl-cert-file needs --ssl-key-file (the certificate's PEM private key)") }
            if sslCertFile == nil { throw ValidationError("--ssl-key-file needs --ssl-cert-file (the PEM certificate)") }
        }
        if groupAttentionN < 1 { throw ValidationError("--grp-attn-n must be at least 1 (1 turns self-extend off)") }
        if groupAttentionN > 1 && (groupAttentionW < groupAttentionN || groupAttentionW % groupAttentionN != 0) {
            throw ValidationError("--grp-attn-w \(groupAttentionW) must be a positive multiple of --grp-attn-n \(groupAttentionN)")
        }
        if parallel < 1 { throw ValidationError("-np must be at least 1") }
        if contextSize < 0 { throw ValidationError("-c must not be negative") }
        if logicalBatchSize < 1 || microBatchSize < 1 { throw ValidationError("-b and -ub must be positive") }
        if nPredict < -1 { throw ValidationError("-n must be -1 or non-negative") }
        if !(1...65535).contains(port) && port != 0 { throw ValidationError("--port must be between 1 and 65535") }
        if let numa, !["distribute", "isolate", "numactl"].contains(numa) {
            throw ValidationError("--numa must be distribute, isolate or numactl")
        }
        if let pooling, Pooling(rawValue: pooling) == nil { throw ValidationError("--pooling must be none, mean, cls or last") }
        try ThreadCountCheck.check("-t", threads)
        try ThreadCountCheck.check("-tb", threadsBatch)
        try ThreadCountCheck.check("--threads-http", threadsHTTP)
        if !["on", "off", "auto", "true", "false", "1", "0", "enabled", "disabled"].contains(flashAttention.lowercased()) {
            throw ValidationError("-fa must be on, off or auto, got '\(flashAttention)'")
        }
        if !["none", "deepseek", "deepseek-legacy", "auto"].contains(reasoningFormat) {
            throw ValidationError("--reasoning-format must be none, deepseek, deepseek-legacy or auto, got '\(reasoningFormat)'")
        }
        if !(-1...ReasoningBudget.maxTokens).contains(reasoningBudget) {
            throw ValidationError("--reasoning-budget must be -1 (unlimited), 0 (no thinking) or a number of tokens up to \(ReasoningBudget.maxTokens), got \(reasoningBudget)")
        }
        if ReasoningMode(rawValue: reasoning) == nil { throw ValidationError("--reasoning must be on, off or auto, got '\(reasoning)'") }
        if chatTemplate != nil && chatTemplateFile != nil {
            throw ValidationError("--chat-template and --chat-template-file both set the template: pass only one")
        }
        if Self.commaList(host).isEmpty { throw ValidationError("--host must name at least one address") }
        if let cacheRAM, cacheRAM < -1 { throw ValidationError("--cache-ram must be -1 (no limit), 0 (off) or a size in MiB") }
        if kvUnified && noKVUnified { throw ValidationError("-kvu and -no-kvu contradict each other: pass only one") }
        if let corsOrigins, corsOrigins.isEmpty { throw ValidationError("--cors-origins must not be empty (use * for any origin)") }
        if !(0...86_400).contains(shutdownTimeout) {
            throw ValidationError("--shutdown-timeout must be between 0 and 86400 seconds, got \(shutdownTimeout)")
        }
        // As llama-server: -1 disables, 0 and other negatives are refused.
        if sleepIdleSeconds == 0 || sleepIdleSeconds < -1 || sleepIdleSeconds > 31_536_000 {
            throw ValidationError("--sleep-idle-seconds must be -1 (never) or between 1 and 31536000, got \(sleepIdleSeconds)")
        }
        if reranking && embedding { throw ValidationError("--reranking and --embedding need different models: pass only one") }
        if cacheReuse < 0 || cacheReuse > Int(Int32.max) { throw ValidationError("--cache-reuse must be 0 or a positive chunk size, got \(cacheReuse)") }
        if !(-1...Int(Int32.max)).contains(keep) { throw ValidationError("--keep must be -1 (the whole prompt) or non-negative, got \(keep)") }
        _ = try templateKwargs()
    }

    /// `--chat-template-kwargs`: a JSON object, or nothing.
    func templateKwargs() throws -> [String: JSONValue] {
        guard let chatTemplateKwargs else { return [:] }
        guard let value = try? JSONValue.parse(utf8: Array(chatTemplateKwargs.utf8)), case .object(let members) = value else {
            throw ValidationError("--chat-template-kwargs must be a JSON object, e.g. '{\"enable_thinking\": false}'")
        }
        var kwargs: [String: JSONValue] = [:]
        for (key, value) in members { kwargs[key] = value }
        return kwargs
    }

    func run() async throws {
        // A reader of our stdout going away must cost log lines, not the server (write gets EPIPE).
        signal(SIGPIPE, SIG_IGN)
        let log = try logging.makeLog(verbose: verbose)
        if let numa {
            log.warn("--numa \(numa) has no effect: cria does not place threads or memory on NUMA nodes "
                     + "(this machine has \(Self.numaNodeCount()) node(s))")
        }

        var server = ServerConfiguration()
        server.host = host
        server.port = port
        // Google Cloud Vertex AI sets these in a custom container; llama-server reads them too.
        do { server.vertexAI = try VertexAIConfiguration.fromEnvironment(ProcessInfo.processInfo.environment) } catch {
            throw ValidationError(error.message)
        }
        if let vertex = server.vertexAI {
            if vertex.predictRouteIsTaken {
                throw ValidationError("AIP_PREDICT_ROUTE=\(vertex.predictRoute) is one of the server's own routes: choose another path")
            }
            if let vertexPort = vertex.port, vertexPort != port {
                log.warn("Vertex AI: AIP_HTTP_PORT \(vertexPort) replaces the port \(port)")
                server.port = vertexPort
            }
            log.info("Vertex AI prediction", ["predict": vertex.predictRoute, "health": vertex.healthRoute ?? "/health"])
        }
        server.staticPath = path
        server.apiKeys = apiKeys + (try apiKeyFile.map(Self.readKeys) ?? [])
        server.embeddingsEnabled = embedding
        server.metricsEnabled = metrics
        server.slotsEndpointEnabled = slotsEndpoint && !slotsEndpointDisable
        server.webUIEnabled = webUI
        server.cors = CORSPolicy(origins: corsOrigins ?? "*", methods: corsMethods, headers: corsHeaders,
                                 credentials: corsCredentials)
        server.verbose = verbose
        server.rerankingEnabled = reranking
        server.jinjaEnabled = jinja
        server.reasoningFormatName = reasoningFormat
        server.reasoningBudget = reasoningBudget
        server.reasoningBudgetMessage = reasoningBudgetMessage
        server.chatTemplateKwargs = try templateKwargs()
        server.slotSavePath = slotSavePath
        server.timeoutSeconds = timeout
        server.httpThreads = ThreadCountCheck.requested(threadsHTTP)
        server.shutdownGrace = .milliseconds(Int64(shutdownTimeout * 1000))
        if sleepIdleSeconds > 0 { server.sleepIdleSeconds = sleepIdleSeconds }
        server.log = log
        if let sslKeyFile, let sslCertFile {
            do { server.tls = try ServerTLS.load(keyFile: sslKeyFile, certificateFile: sslCertFile) } catch {
                throw CommandError(error.description)
            }
            log.info("serving HTTPS", ["cert": sslCertFile, "key": sslKeyFile])
        }
        let systemPrompt = try systemPromptFile.map(Self.readSystemPrompt)
        let chatTemplate = try self.chatTemplate.map { source in
            do { return try ChatTemplate.resolve(nameOrSource: source) } catch let error as UnknownTemplateName {
                throw ValidationError("--chat-template: \(error)")
            } catch {
                throw ValidationError("--chat-template could not be parsed: \(error)")
            }
        } ?? chatTemplateFile.map(Self.readChatTemplate)
        let samplingDefaults = try self.samplingDefaults.parameters()
        if cacheReuse > 0 {
            log.warn("--cache-reuse \(cacheReuse): cria does not reuse cached chunks by shifting them; a slot reuses a "
                     + "cached prompt by its common prefix only (results are the same, prompts may take longer)")
        }
        if flashAttention.lowercased() != "auto" {
            log.info("-fa \(flashAttention): cria has a single CPU attention kernel, so this changes nothing")
        }

        let hostState = ModelHost()
        // llama-server's --host takes a comma-separated list; each address gets its own listener.
        let addresses = Self.commaList(host)
        // Hummingbird logs "Server started and listening on HOST:PORT" once each listener is bound.
        let modelPath = try await downloadedModel(log: log) ?? self.model
        guard let model = modelPath else {
            log.warn("no -m given: serving without a model (only /health, /v1/models and CORS preflights answer)")
            hostState.set(.noModel)
            try await runListeners(host: hostState, configuration: server, addresses: addresses)
            return
        }
        let generationThreads = ThreadCountCheck.generation(threads)
        // As llama-server: -tb defaults to -t.
        let batchThreads = ThreadCountCheck.requested(threadsBatch) ?? generationThreads
        log.info("system info", ["n_threads": "\(generationThreads)", "n_threads_batch": "\(batchThreads)",
                                 "total_threads": "\(ProcessInfo.processInfo.activeProcessorCount)"])
        var loader = ModelLoader(path: model, mode: noMmap ? .read : .mmap, lockMemory: mlock, contextSize: contextSize,
                                 slots: parallel, microBatchSize: min(logicalBatchSize, microBatchSize), logicalBatchSize: logicalBatchSize,
                                 predictLimit: nPredict,
                                 threads: generationThreads, batchThreads: batchThreads,
                                 pooling: pooling.flatMap(Pooling.init(rawValue:)), alias: alias,
                                 chatTemplate: chatTemplate, systemPrompt: systemPrompt,
                                 samplingDefaults: samplingDefaults, unifiedContext: kvUnified && !noKVUnified,
                                 contextShift: contextShift, tags: tags.map(Self.commaList) ?? [],
                                 reasoning: reasoningBudget == 0 ? .off : ReasoningMode(rawValue: reasoning) ?? .auto, reranking: reranking,
                                 promptCacheMiB: cacheRAM ?? 0, numerics: numerics,
                                 keyCacheType: kvCache.keyType, valueCacheType: kvCache.valueType,
                                 groupAttention: (groupAttentionN, groupAttentionW))
        loader.adapters = try loraOptions.adapters()
        loader.adaptersStartUnapplied = loraOptions.initWithoutApply
        loader.loraBase = loraOptions.loraBase
        loader.offload = try gpu.request { log.warn($0) }
        loader.rope = try rope.override()
        loader.defaultKeepCount = keep
        loader.rendersSpecialTokens = special
        if loader.offload != nil, !loader.adapters.isEmpty || loader.loraBase != nil {
            throw ValidationError("--lora and --lora-base do not run with -ngl yet: the Vulkan backend has no adapters")
        }
        let readyLoader = loader
        if sleepIdleSeconds > 0 {
            hostState.enableSleep(after: .seconds(sleepIdleSeconds), reload: { try readyLoader.load() }, log: log)
        }
        let embeddingsEnabled = server.embeddingsEnabled
        // Loading computes (packed weight copies, see PackedWeights), so it runs on a thread of
        // its own, never on the Swift concurrency pool that answers /health meanwhile.
        let loadThread = Thread {
            do {
                let served = try readyLoader.load { outcome in
                    switch outcome {
                    case .notRequested: break
                    case .locked: log.info("model locked in memory (--mlock)", ["model": model])
                    case .failed(let reason):
                        log.warn("--mlock: failed to lock the model in memory (\(reason)); it stays mapped but may be "
                                 + "swapped out. Try increasing RLIMIT_MEMLOCK ('ulimit -l' as root)")
                    }
                }
                let slotBytes = Double(served.engine.kvBytesPerSlot)
                log.info("KV cache", ["type_k": kvCache.keyType.name.lowercased(), "type_v": kvCache.valueType.name.lowercased(),
                                      "n_ctx_slot": "\(served.engine.slotContextSize)", "n_slots": "\(parallel)",
                                      "MiB_per_slot": String(format: "%.2f", slotBytes / 1_048_576),
                                      "MiB_total": String(format: "%.2f", slotBytes * Double(parallel) / 1_048_576)])
                let config = served.engine.model.config, params = served.engine.model.parameterCount
                var loaded = ["model": model, "architecture": config.architecture, "n_slots": "\(parallel)",
                              "n_ctx_slot": "\(served.engine.slotContextSize)", "n_params": "\(params.total)",
                              "n_params_active": "\(params.active)"]
                if let experts = config.experts { loaded["n_expert"] = "\(experts.count)"; loaded["n_expert_used"] = "\(experts.used)" }
                log.info("model loaded", loaded)
                log.info("CPU kernels", ["path": "\(served.engine.model.kernelPath)", "prefetch": PrefetchCalibration.shared.summary])
                if let offload = GPUOptions.describe(served.engine.model) {
                    log.info(offload.summary)
                    if let warning = offload.warning { log.warn(warning) }
                }
                if config.isEncoder && !embeddingsEnabled {
                    // llama-server also starts here, and its embedding routes refuse without the flag.
                    log.warn("\(config.architecture) is an embedding model: it cannot generate text, and /embedding and "
                             + "/v1/embeddings need --embedding", ["model": model])
                }
                hostState.set(.ready(served))
            } catch {
                hostState.set(.failed("\(error)"))
                log.error("failed to load model \(model): \(error)")
                Foundation.exit(1)
            }
        }
        loadThread.name = "cria-load"
        loadThread.stackSize = 16 << 20
        loadThread.start()
        try await runListeners(host: hostState, configuration: server, addresses: addresses)
    }

    /// `-mu` or `-hfr`/`-hff`: the model's local path once it is in the cache (nil without them).
    func downloadedModel(log: ServerLog) async throws -> String? {
        var environment = ProcessInfo.processInfo.environment
        if let hfToken { environment["HF_TOKEN"] = hfToken }
        let source: ModelSource
        if let modelURL {
            source = try ModelSource.url(modelURL, path: model, environment: environment)
        } else if let hfRepo, let hfFile {
            source = try ModelSource.huggingFace(repo: hfRepo, file: hfFile, path: model, environment: environment)
        } else {
            return nil
        }
        log.info("model source", ["url": source.url.absoluteString, "path": source.destination.path])
        return try await ModelDownloader(source: source, offline: offline).fetch()
    }

    /// NUMA nodes the kernel reports (1 where /sys does not say).
    static func numaNodeCount() -> Int {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: "/sys/devices/system/node")) ?? []
        return max(1, names.filter { $0.hasPrefix("node") && Int($0.dropFirst(4)) != nil }.count)
    }

    /// `--chat-template-file`: Jinja source, parsed now so a broken file stops the server.
    static func readChatTemplate(_ path: String) throws -> ChatTemplate {
        guard let source = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw ValidationError("cannot read --chat-template-file \(path)")
        }
        do { return try ChatTemplate(source: source) } catch {
            throw ValidationError("--chat-template-file \(path) could not be parsed: \(error)")
        }
    }

    /// `a, b,,c` → `["a", "b", "c"]` (llama-server's --alias and --tags lists).
    static func commaList(_ text: String) -> [String] {
        text.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
    }

    static func readKeys(_ path: String) throws -> [String] {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw ValidationError("cannot read --api-key-file \(path)")
        }
        return text.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
    }

    /// `-spf FILE`: the spec's `{"system_prompt": {"prompt": …, "anti_prompt": …, "assistant_name": …}}`
    /// (the body POST /props takes), or the inner object alone.
    static func readSystemPrompt(_ path: String) throws -> SystemPrompt {
        guard let data = FileManager.default.contents(atPath: path),
              let outer = try? JSONValue.parse(utf8: Array(data)), case .object = outer else {
            throw ValidationError("--system-prompt-file \(path) must be a JSON object with prompt, anti_prompt, assistant_name")
        }
        var object = outer
        if let inner = outer["system_prompt"], case .object = inner { object = inner }
        return SystemPrompt(prompt: object["prompt"]?.stringValue ?? "", antiPrompt: object["anti_prompt"]?.stringValue ?? "",
                            assistantName: object["assistant_name"]?.stringValue ?? "")
    }
}

/// Loads the model, tokenizer and template and starts the engine.
struct ModelLoader: Sendable {
    let path: String
    let mode: GGUFStorage.LoadMode
    /// `--mlock`: pin the model's bytes in RAM.
    let lockMemory: Bool
    let contextSize: Int
    let slots: Int
    /// min(-b, -ub): most prompt rows per forward pass.
    let microBatchSize: Int
    /// -b: where llama-server places its prompt cuts (llama.cpp numerics).
    let logicalBatchSize: Int
    let predictLimit: Int
    /// `-t`: threads for single-row (decode) forward passes.
    let threads: Int
    /// `-tb`: threads for multi-row forward passes (prompt batches, several slots at once).
    let batchThreads: Int
    let pooling: Pooling?
    let alias: String?
    let chatTemplate: ChatTemplate?
    let systemPrompt: SystemPrompt?
    /// `--temp`, `--top-k`, …: what a request's missing sampling options default to.
    var samplingDefaults = SamplingParameters()
    /// `-kvu`: every slot may fill the whole `-c` context.
    var unifiedContext = false
    /// `--context-shift` / `--no-context-shift`.
    var contextShift = true
    /// `--tags`.
    var tags: [String] = []
    /// `--reasoning`.
    var reasoning = ReasoningMode.auto
    /// `--reranking`: the model must have a ranking head.
    var reranking = false
    /// `--cache-ram`.
    var promptCacheMiB = 0
    /// `--numerics`.
    var numerics = NumericsMode.invariant
    /// `-ctk` / `-ctv`.
    var keyCacheType = GGMLType.f16
    var valueCacheType = GGMLType.f16
    /// `--grp-attn-n` / `--grp-attn-w`.
    var groupAttention = (factor: 1, width: 512)
    /// `--lora`, `--lora-scaled`: adapter files and scales, ids in this order.
    var adapters: [LoraOptions.Adapter] = []
    /// `--lora-init-without-apply`: every adapter starts at scale 0.
    var adaptersStartUnapplied = false
    /// `--lora-base`: the model whose matrices replace the adapted ones.
    var loraBase: String?
    /// `-ngl`, `-mg`, `-ts`.
    var offload: OffloadRequest?
    /// `--rope-*`, `--yarn-*`.
    var rope = RoPEOverride()
    /// `--keep`.
    var defaultKeepCount = 0
    /// `-sp`.
    var rendersSpecialTokens = false

    /// Loads everything; `reportLock` hears what `--mlock` did before the engine starts.
    func load(reportLock: (GGUFStorage.LockOutcome) -> Void = { _ in }) throws -> ServedModel {
        let file = try GGUFFile(path: path, mode: mode, mlock: lockMemory)
        reportLock(file.storage.lockOutcome)
        let model = try TransformerModel(file: file, threads: threads, batchThreads: batchThreads, offload: offload, rope: rope)
        model.microBatchSize = microBatchSize
        model.numerics = numerics
        for adapter in adapters {
            do { model.adapters.append(try LoraAdapter(path: adapter.path, model: model)) } catch {
                throw ValidationError(error.description)
            }
        }
        model.adapterScales = adapters.map { adaptersStartUnapplied ? 0 : $0.scale }
        if let loraBase {
            do {
                let base = try GGUFFile(path: loraBase, mode: mode)
                try model.useLoraBase(base, path: loraBase)
            } catch let error as LoraError {
                throw ValidationError(error.description)
            } catch {
                throw ValidationError("--lora-base \(loraBase): cannot read it: \(error)")
            }
        }
        let tokenizer = try Tokenizer(file: model.file)
        do { try samplingDefaults.validate(vocabularySize: model.config.vocabularySize) } catch {
            throw ValidationError("sampling default out of range for this model: \(error.description)")
        }
        let metadata = model.file.metadata
        let template = try chatTemplate ?? metadata.string("tokenizer.chat_template").map(ChatTemplate.init(source:))
            ?? ChatTemplate.defaultFallback
        let modelPooling = metadata.int("\(model.config.architecture).pooling_type").flatMap(Pooling.init(ggufValue:))
        if reranking && model.config.isEncoder {
            throw ValidationError("--reranking with a \(model.config.architecture) model is not supported: Cria ranks with decoder rerankers only")
        }
        let rankingHead = reranking ? try Self.rankingHead(model.file, path: path, width: model.config.embeddingLength) : nil
        let context = contextSize == 0 ? model.config.contextLength : contextSize
        var configuration = EngineConfiguration(contextSize: context, slotCount: slots, microBatchSize: microBatchSize,
                                                defaultPredictLimit: predictLimit,
                                                pooling: pooling ?? modelPooling ?? .mean, logicalBatchSize: logicalBatchSize)
        configuration.unifiedContext = unifiedContext
        configuration.contextShift = contextShift
        configuration.promptCacheMiB = promptCacheMiB
        configuration.keyCacheType = keyCacheType
        configuration.valueCacheType = valueCacheType
        configuration.groupAttentionFactor = groupAttention.factor
        configuration.groupAttentionWidth = groupAttention.width
        configuration.defaultKeepCount = defaultKeepCount
        configuration.rendersSpecialTokens = rendersSpecialTokens
        guard configuration.slotContextSize >= 8 else {
            throw ValidationError("-c \(context) split over \(slots) slots leaves \(configuration.slotContextSize) tokens per slot; raise -c")
        }
        let engine: Engine
        do { engine = try Engine(model: model, tokenizer: tokenizer, configuration: configuration) } catch {
            throw ValidationError(error.description)
        }
        if let systemPrompt { engine.setSystemPrompt(systemPrompt) }
        engine.start()
        let aliases = alias.map(ServeCommand.commaList) ?? []
        return ServedModel(engine: engine, tokenizer: tokenizer, chatTemplate: template, modelPath: path,
                           alias: aliases.min(), aliases: aliases, tags: tags, samplingDefaults: samplingDefaults,
                           reasoning: reasoning, rankingHead: rankingHead)
    }

    /// `--reranking`: the classification head llama.cpp's rank pooling applies (`cls.*` tensors).
    static func rankingHead(_ file: GGUFFile, path: String, width: Int) throws -> RankingHead {
        func layer(_ name: String, inputs: Int) throws -> RankingHead.Layer? {
            guard let info = file.tensor(named: "\(name).weight") else { return nil }
            guard info.shape.count == 2, info.shape[0] == inputs else {
                throw ValidationError("--reranking: \(name).weight has shape \(info.shape), expected [\(inputs), N]")
            }
            let bias = try file.tensor(named: "\(name).bias").map { try Dequantize.tensor($0, in: file) }
            return RankingHead.Layer(weights: try Dequantize.tensor(info, in: file), bias: bias, rows: info.shape[1], width: inputs)
        }
        let dense = try layer("cls", inputs: width)
        guard let output = try layer("cls.output", inputs: dense?.rows ?? width) else {
            throw ValidationError("--reranking needs a reranking model: \(path) has no classification head (cls.output.weight)")
        }
        return RankingHead(dense: dense, output: output, promptTemplate: file.metadata.string("tokenizer.chat_template.rerank"))
    }
}
