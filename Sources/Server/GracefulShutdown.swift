import Dispatch
import Foundation
import Logging
import ServiceLifecycle

/// SIGINT and SIGTERM: the first stops the listeners from accepting connections and lets
/// running requests finish for up to `grace`; when that runs out, every generation ends with its
/// final event (`Engine.endAllGenerations`), the last responses go out and the process exits 0.
/// A second signal exits at once with status 1, as llama-server does.
final class GracefulShutdown: @unchecked Sendable {
    let host: ModelHost
    let grace: Duration
    let log: ServerLog?
    private let lock = NSLock()
    private var signalsSeen = 0
    private var sources: [any DispatchSourceSignal] = []

    init(host: ModelHost, grace: Duration, log: ServerLog?) {
        self.host = host
        self.grace = grace
        self.log = log
    }

    /// Whether a shutdown signal has arrived.
    var isShuttingDown: Bool { lock.withLock { signalsSeen > 0 } }

    /// Takes SIGINT and SIGTERM from their default action (immediate death) and calls
    /// `beginShutdown` on the first.
    func install(beginShutdown: @escaping @Sendable () async -> Void) {
        for number in [SIGINT, SIGTERM] {
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler { [self] in received(number, beginShutdown: beginShutdown) }
            source.resume()
            sources.append(source)
        }
    }

    private func received(_ number: Int32, beginShutdown: @escaping @Sendable () async -> Void) {
        let count = lock.withLock { () -> Int in
            signalsSeen += 1
            return signalsSeen
        }
        let name = number == SIGINT ? "SIGINT" : "SIGTERM"
        guard count == 1 else {
            log?.warn("received a second signal (\(name)): exiting at once")
            _exit(1)
        }
        let running = runningGenerations()
        log?.info("received \(name): no longer accepting connections; waiting up to \(grace.components.seconds) s "
                  + "for \(running) running request(s) (--shutdown-timeout); a second signal exits at once")
        Task { await beginShutdown() }
        Task { [self] in
            try? await Task.sleep(for: grace)
            guard case .ready(let served) = host.state else { return }
            let left = runningGenerations()
            if left > 0 { log?.warn("shutdown grace period over: ending \(left) running request(s) now") }
            served.engine.endAllGenerations()
        }
    }

    /// Requests the engine is working on or has queued.
    private func runningGenerations() -> Int {
        guard case .ready(let served) = host.state else { return 0 }
        let status = served.engine.status()
        return status.processingCount + status.deferred
    }
}
