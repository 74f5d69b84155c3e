import Foundation
import Hummingbird
import Serving
import Synchronization

/// GET /metrics in the Prometheus text format (with `--metrics`), llama-server's metric names.
struct MetricsController {
    let host: ModelHost
    let enabled: Bool
    /// The totals at the previous scrape: as llama-server, the throughput gauges cover the time
    /// since then (each scrape starts a new window).
    private let previousScrape = ScrapeWindow()

    init(host: ModelHost, enabled: Bool) {
        self.host = host
        self.enabled = enabled
    }

    func addRoutes(to router: Router<AppContext>) {
        router.get("/metrics") { _, _ in try await metrics() }
    }

    func metrics() async throws -> Response {
        guard enabled else { throw APIError.notSupported("This server does not support metrics endpoint.") }
        // Scraping does not wake a sleeping model: it reports the totals as the model fell asleep.
        let m: EngineMetrics
        if case .sleeping(let snapshot) = host.state {
            m = snapshot.metrics
        } else {
            m = Self.withCarried(try await host.served().engine.metrics(), host: host)
        }
        var headers = HTTPFields()
        headers[.contentType] = "text/plain; version=0.0.4"
        headers[HTTPFields.Element.Name("Process-Start-Time-Unix")!] = "\(Self.processStart)"
        let rates = previousScrape.counters.withLock { previous in
            defer { previous = m.counters }
            return Self.rates(from: previous, to: m.counters)
        }
        return Response(status: .ok, headers: headers,
                        body: ResponseBody(byteBuffer: ByteBuffer(string: Self.render(m, rates: rates))))
    }

    /// Prompt and generation tokens per second between two scrapes (0 when nothing ran).
    static func rates(from a: EngineCounters, to b: EngineCounters) -> (prompt: Double, predicted: Double) {
        func rate(_ tokens: Int, _ seconds: Double) -> Double { seconds > 0 && tokens > 0 ? Double(tokens) / seconds : 0 }
        return (rate(b.promptTokens - a.promptTokens, b.promptSeconds - a.promptSeconds),
                rate(b.predictedTokens - a.predictedTokens, b.predictedSeconds - a.predictedSeconds))
    }

    /// The engine's metrics plus the totals of the engines before it (the model slept in between).
    static func withCarried(_ metrics: EngineMetrics, host: ModelHost) -> EngineMetrics {
        guard let carried = host.carriedCounters else { return metrics }
        var m = metrics
        let c = m.counters
        m.counters.promptTokens = c.promptTokens + carried.promptTokens
        m.counters.promptSeconds = c.promptSeconds + carried.promptSeconds
        m.counters.predictedTokens = c.predictedTokens + carried.predictedTokens
        m.counters.predictedSeconds = c.predictedSeconds + carried.predictedSeconds
        m.counters.cachedPromptTokens = c.cachedPromptTokens + carried.cachedPromptTokens
        m.counters.decodeCalls = c.decodeCalls + carried.decodeCalls
        m.counters.busySlotsAtDecode = c.busySlotsAtDecode + carried.busySlotsAtDecode
        m.counters.longestSequence = max(c.longestSequence, carried.longestSequence)
        return m
    }

    /// When this process started (Unix seconds), which today's llama-server sends as a header.
    static let processStart = Int(Date().timeIntervalSince1970)

    /// The metrics text; the throughput gauges are `rates` (by default, the averages since start).
    static func render(_ m: EngineMetrics, rates: (prompt: Double, predicted: Double)? = nil) -> String {
        let c = m.counters
        let rates = rates ?? Self.rates(from: EngineCounters(), to: c)
        let rows: [(String, String, String, Double)] = [
            ("counter", "prompt_tokens_total", "Number of prompt tokens processed.", Double(c.promptTokens)),
            ("counter", "tokens_predicted_total", "Number of generation tokens processed.", Double(c.predictedTokens)),
            // Today's llama-server additions. Cria has no speculative decoding, so its counters stay 0.
            ("counter", "prompt_tokens_cached_total", "Number of prompt tokens reused from the cache.",
             Double(c.cachedPromptTokens)),
            ("counter", "prompt_seconds_total", "Total time spent processing prompts.", c.promptSeconds),
            ("counter", "tokens_predicted_seconds_total", "Total time spent generating tokens.", c.predictedSeconds),
            ("counter", "n_decode_total", "Total number of forward passes.", Double(c.decodeCalls)),
            ("counter", "n_tokens_max", "Largest observed sequence length (prompt + generation).", Double(c.longestSequence)),
            ("counter", "spec_decode_num_draft_tokens_total", "Speculative: Total draft tokens generated.", 0),
            ("counter", "spec_decode_num_accepted_tokens_total", "Speculative: Total draft tokens accepted.", 0),
            ("counter", "spec_decode_num_drafts_total", "Speculative: Total speculative decoding verification steps.", 0),
            ("gauge", "prompt_tokens_seconds", "Average prompt throughput in tokens/s.", rates.prompt),
            ("gauge", "predicted_tokens_seconds", "Average generation throughput in tokens/s.", rates.predicted),
            ("gauge", "kv_cache_usage_ratio", "KV-cache usage. 1 means 100 percent usage.", m.cacheUsage),
            ("gauge", "kv_cache_tokens", "KV-cache tokens.", Double(m.cacheTokens)),
            ("gauge", "requests_processing", "Number of request processing.", Double(m.processing)),
            ("gauge", "requests_deferred", "Number of request deferred.", Double(m.deferred)),
            ("gauge", "n_busy_slots_per_decode", "Average number of busy slots per forward pass.",
             Double(c.busySlotsAtDecode) / Double(max(c.decodeCalls, 1))),
        ]
        var out = ""
        for (type, name, help, value) in rows {
            out += "# HELP llamacpp:\(name) \(help)\n# TYPE llamacpp:\(name) \(type)\nllamacpp:\(name) \(value)\n"
        }
        return out
    }
}

/// The counters as the previous /metrics scrape saw them (shared by every scrape).
final class ScrapeWindow: Sendable {
    let counters = Mutex(EngineCounters())
}
