import Foundation
import Hummingbird
import CriaNumerics

/// Counts the requests that may need the model, so `--sleep-idle-seconds` never unloads it
/// under one and measures idleness from the end of the last. The routes llama-server exempts
/// (`GET /health`, `/props`, `/models`, `/metrics`) neither count nor wake a sleeping model;
/// neither do CORS preflights.
struct SleepActivityMiddleware: RouterMiddleware {
    typealias Context = AppContext
    let host: ModelHost
    /// Vertex AI's health route (`AIP_HEALTH_ROUTE`), exempt as `/health` is.
    var healthAlias: String?

    static let exemptPaths: Set<String> = ["/health", "/v1/health", "/props", "/models", "/v1/models", "/metrics"]

    static func isExempt(method: HTTPRequest.Method, path: String) -> Bool {
        if method == .options { return true }
        guard method == .get || method == .head else { return false }
        return exemptPaths.contains(path) || path.hasPrefix("/models/") || path.hasPrefix("/v1/models/")
    }

    func handle(_ request: Request, context: AppContext, next: (Request, AppContext) async throws -> Response) async throws -> Response {
        let path = request.uri.path
        if Self.isExempt(method: request.method, path: path) || path == healthAlias { return try await next(request, context) }
        host.requestStarted()
        defer { host.requestEnded() }
        return try await next(request, context)
    }
}

/// The thread that puts an idle model to sleep (`--sleep-idle-seconds`): it checks ten times a
/// second, which bounds how late the sleep comes, and renders what the exempt routes answer
/// while asleep.
enum IdleSleepMonitor {
    static func start(host: ModelHost, configuration: ServerConfiguration) {
        let props = PropsController(host: host, configuration: configuration)
        let thread = Thread {
            while true {
                Thread.sleep(forTimeInterval: 0.1)
                let slept = host.sleepIfIdle { served in
                    let body = props.body(served, sleeping: true)
                    return SleepSnapshot(props: (try? JSONResponse.encode(body)) ?? Data("{}".utf8),
                                         models: OpenAIController.modelEntries(served),
                                         metrics: MetricsController.withCarried(served.engine.metrics(), host: host))
                }
                if slept {
                    // The engine is freed once its thread has left its loop; then the C heap is
                    // asked to hand back what it freed, which it otherwise keeps.
                    Thread.sleep(forTimeInterval: 0.5)
                    FreedMemory.returnToSystem()
                }
            }
        }
        thread.name = "cria-idle-sleep"
        thread.start()
    }
}
