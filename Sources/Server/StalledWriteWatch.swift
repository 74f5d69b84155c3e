import Hummingbird
import NIOCore
import Serving
import Synchronization

/// Closes a streamed response's connection when one write has waited longer than the write
/// timeout (`-to`), as llama-server's socket write timeout does.
///
/// A client that stops reading without closing fills the socket buffers, and the stream's next
/// write then waits for ever: its slot stays busy for the whole generation and the events meant
/// for it pile up in memory. Closing the connection fails that write and cancels the generation.
final class StalledWriteWatch: Sendable {
    private struct State {
        var writingSince: ContinuousClock.Instant?
        var stopped = false
    }

    private let state = Mutex(State())
    private let watcher = Mutex<Task<Void, Never>?>(nil)

    init(timeout: Duration, channel: any Channel, handles: [GenerationHandle]) {
        let interval = max(Duration.milliseconds(250), min(.seconds(1), timeout / 4))
        // The task holds the watch until `stop` cancels it or it closes the connection.
        let task = Task {
            while !Task.isCancelled {
                try? await Task.sleep(for: interval)
                let stalled = self.state.withLock { s -> Bool in
                    guard !s.stopped, let since = s.writingSince else { return false }
                    return ContinuousClock.now - since > timeout
                }
                if stalled {
                    for handle in handles { handle.cancel() }
                    channel.close(promise: nil)
                    return
                }
                if self.state.withLock({ $0.stopped }) { return }
            }
        }
        watcher.withLock { $0 = task }
    }

    func writeBegins() { state.withLock { $0.writingSince = .now } }
    func writeEnds() { state.withLock { $0.writingSince = nil } }

    /// The response is over: no more watching.
    func stop() {
        state.withLock { $0.stopped = true }
        watcher.withLock { $0?.cancel() }
    }
}

/// A response body writer whose writes `StalledWriteWatch` times.
struct StallWatchedWriter: ResponseBodyWriter {
    var base: any ResponseBodyWriter
    let watch: StalledWriteWatch

    mutating func write(_ buffer: ByteBuffer) async throws {
        watch.writeBegins()
        defer { watch.writeEnds() }
        try await base.write(buffer)
    }

    consuming func finish(_ trailingHeaders: HTTPFields?) async throws {
        watch.writeBegins()
        defer { watch.writeEnds() }
        try await base.finish(trailingHeaders)
    }
}
