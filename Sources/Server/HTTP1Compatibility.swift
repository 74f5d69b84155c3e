import NIOCore
import NIOHTTP1
import NIOHTTPTypesHTTP1

/// HTTP/1 behaviour that clients rely on and that the HTTP layer underneath leaves out, applied
/// to each request before it becomes a Hummingbird request:
///
/// - A request that does not keep its connection alive (HTTP/1.0 without `keep-alive`, or a
///   `Connection` header with the `close` token in any case or list) gets exactly
///   `Connection: close`, the only form Hummingbird checks, so the connection closes after the
///   response. An HTTP/1.0 client that reads to the end of the connection otherwise waited for the
///   idle timeout.
/// - The response to an HTTP/1.0 request is sent as HTTP/1.0, so a body of unknown length (a
///   stream) is delimited by closing the connection instead of chunked encoding, which such a
///   client does not understand.
/// - `Expect: 100-continue` gets its `100 Continue` at once; curl sends it with bodies over 1 MB
///   and otherwise waits a second before sending the body.
/// - `HEAD` is answered as `GET` without the body (as cpp-httplib, llama-server's HTTP library,
///   does); NIO's encoder keeps the headers of the GET answer, Content-Length included.
final class HTTP1Compatibility: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias InboundOut = HTTPServerRequestPart
    typealias OutboundIn = HTTPServerResponsePart
    typealias OutboundOut = HTTPServerResponsePart

    /// What a response must know of its request, in request order (requests may be pipelined).
    private struct Pending {
        var version: HTTPVersion
        var head: Bool
        var keepAlive: Bool
    }

    private var pending = CircularBuffer<Pending>()
    /// Whether the response being written drops its body (it answers a HEAD).
    private var droppingBody = false

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard case .head(var head) = unwrapInboundIn(data) else {
            context.fireChannelRead(data)
            return
        }
        pending.append(Pending(version: head.version, head: head.method == .HEAD, keepAlive: head.isKeepAlive))
        if !head.isKeepAlive {
            head.headers.replaceOrAdd(name: "connection", value: "close")
        }
        if head.method == .HEAD { head.method = .GET }
        if head.version.major == 1, head.version.minor >= 1,
           head.headers["expect"].contains(where: { $0.lowercased() == "100-continue" }) {
            head.headers.remove(name: "expect")
            let interim = HTTPResponseHead(version: head.version, status: .continue)
            context.writeAndFlush(wrapOutboundOut(.head(interim)), promise: nil)
        }
        context.fireChannelRead(wrapInboundOut(.head(head)))
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        switch unwrapOutboundIn(data) {
        case .head(var head):
            let informational = (100..<200).contains(head.status.code) && head.status.code != 101
            if !informational, let request = pending.popFirst() {
                droppingBody = request.head
                if request.version.major == 1 && request.version.minor == 0 {
                    head.version = request.version
                }
                if !request.keepAlive { head.headers.replaceOrAdd(name: "connection", value: "close") }
            }
            context.write(wrapOutboundOut(.head(head)), promise: promise)
        case .body where droppingBody:
            promise?.succeed(())
        case .body, .end:
            context.write(data, promise: promise)
        }
    }
}

/// Puts `HTTP1Compatibility` in front of Hummingbird's HTTP/1 to HTTP-types conversion (where
/// the requests' version is still known); HTTP/1 connections only. It stays in the pipeline as a
/// pass-through (handlers are being added when it runs).
final class HTTP1CompatibilityInstaller: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = NIOAny

    func handlerAdded(context: ChannelHandlerContext) {
        let pipeline = context.pipeline.syncOperations
        if let codec = try? pipeline.handler(type: HTTP1ToHTTPServerCodec.self) {
            try? pipeline.addHandler(HTTP1Compatibility(), position: .before(codec))
        }
    }
}
