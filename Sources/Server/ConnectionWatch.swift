import NIOCore
import NIOHTTPTypes
import Serving
import Synchronization

/// Watches one client connection for the client going away, so that a generation running for
/// a request on it can be cancelled at once.
///
/// Hummingbird's own `consumeWithCancellationOnInboundClose` detects a disconnect by reading the
/// connection's request stream, and that read ends the stream: the server then closes every
/// connection after the response, breaking HTTP keep-alive for pooled clients. This handler sits
/// in the channel pipeline instead and only observes the end of input (the client closed its
/// side) or the channel going inactive, so the connection stays usable for the next request.
final class ConnectionWatch: ChannelInboundHandler, RemovableChannelHandler, Sendable {
    typealias InboundIn = HTTPRequestPart

    private enum State {
        case open(next: Int, actions: [Int: @Sendable () -> Void])
        case closed
    }

    private let state = Mutex(State.open(next: 0, actions: [:]))

    /// Runs `action` once the client goes away (at once if it already has). Returns a key for
    /// `remove`, or nil when the action already ran.
    @discardableResult
    func onClose(_ action: @escaping @Sendable () -> Void) -> Int? {
        let key: Int? = state.withLock { state in
            guard case .open(let next, var actions) = state else { return nil }
            actions[next] = action
            state = .open(next: next + 1, actions: actions)
            return next
        }
        if key == nil { action() }
        return key
    }

    /// Forgets an action registered with `onClose` (its request has finished).
    func remove(_ key: Int) {
        state.withLock { state in
            guard case .open(let next, var actions) = state else { return }
            actions[key] = nil
            state = .open(next: next, actions: actions)
        }
    }

    private func markClosed() {
        let actions = state.withLock { state -> [@Sendable () -> Void] in
            guard case .open(_, let actions) = state else { return [] }
            state = .closed
            return Array(actions.values)
        }
        for action in actions { action() }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let event = event as? ChannelEvent, event == .inputClosed { markClosed() }
        context.fireUserInboundEventTriggered(event)
    }

    func channelInactive(context: ChannelHandlerContext) {
        markClosed()
        context.fireChannelInactive()
    }
}

extension AppContext {
    /// Runs `body` with `handle` cancelled as soon as this request's client disconnects, which
    /// frees its slot at the engine's next step (even while the prompt is still being processed).
    func cancellingOnDisconnect<T>(_ handle: GenerationHandle, _ body: () async throws -> T) async rethrows -> T {
        try await cancellingOnDisconnect([handle], body)
    }

    /// As above, for a request that runs several generations (`n` choices).
    func cancellingOnDisconnect<T>(_ handles: [GenerationHandle], _ body: () async throws -> T) async rethrows -> T {
        try await onDisconnect({ for handle in handles { handle.cancel() } }, body)
    }

    /// Runs `body` with a `ClientPresence` that turns false when this request's client goes away,
    /// for work done in several engine calls (embeddings of many inputs).
    func whileConnected<T>(_ body: (ClientPresence) async throws -> T) async rethrows -> T {
        let presence = ClientPresence()
        return try await onDisconnect({ presence.markGone() }) { try await body(presence) }
    }

    /// Runs `body` with `action` registered to run when the client goes away. A client that has
    /// already gone (its connection closed before the watch could be found: the pipeline's
    /// handlers are removed on close) gets `action` at once.
    private func onDisconnect<T>(_ action: @escaping @Sendable () -> Void, _ body: () async throws -> T) async rethrows -> T {
        let watch = try? await channel.pipeline.handler(type: ConnectionWatch.self).get()
        let key = watch?.onClose(action)
        if watch == nil && !channel.isActive { action() }
        defer { if let key { watch?.remove(key) } }
        return try await body()
    }
}

/// Whether a request's client is still there (see `AppContext.whileConnected`).
final class ClientPresence: Sendable {
    private let gone = Atomic<Bool>(false)
    var isGone: Bool { gone.load(ordering: .relaxed) }
    func markGone() { gone.store(true, ordering: .relaxed) }
}
