import Foundation
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
///   client does not understand; such a response closes the connection even when the request
///   asked for keep-alive.
/// - `Expect: 100-continue` gets its `100 Continue` at once, or as soon as the responses to
///   earlier pipelined requests have gone out; curl sends it with bodies over 1 MB and otherwise
///   waits a second before sending the body.
/// - `HEAD` is answered as `GET` without the body (as cpp-httplib, llama-server's HTTP library,
///   does); NIO's encoder keeps the headers of the GET answer, Content-Length included.
/// - A connection whose response says `Connection: close` is closed `lingerAfterClose` after the
///   response has been written. Hummingbird only half-closes it and waits for the client's end,
///   so a client that never closes held its descriptor until the idle timeout (`-to`). The delay
///   lets the client read the response before anything it still sends could reset it.
/// - `Expect: 100-continue` with a `Content-Length` over the body limit is answered with a 413
///   at once, so the client does not send a body the server would only discard.
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
        /// `Expect: 100-continue` whose interim answer waits for the responses before it.
        var awaitsContinue: Bool
    }

    private var pending = CircularBuffer<Pending>()
    /// Between a response's head and its end.
    private var responseInFlight = false
    /// Whether the response being written drops its body (it answers a HEAD).
    private var droppingBody = false
    /// Whether the connection closes once the response being written has ended: an HTTP/1.0
    /// response without a length is delimited by the close, even if its request asked for
    /// keep-alive.
    private var closingAfterEnd = false
    /// Whether the response being written says `Connection: close`.
    private var closesConnection = false
    /// Set once an oversized body was refused before it was sent: nothing more is read.
    private var refused = false
    /// How long a connection stays open after its last response said `Connection: close`.
    static let lingerAfterClose = TimeAmount.seconds(2)

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if refused { return }
        guard case .head(var head) = unwrapInboundIn(data) else {
            context.fireChannelRead(data)
            return
        }
        let expectsContinue = head.version.major == 1 && head.version.minor >= 1
            && head.headers["expect"].contains { $0.lowercased() == "100-continue" }
        if expectsContinue, pending.isEmpty, !responseInFlight,
           let length = head.headers["content-length"].first.flatMap({ Int($0) }), length > AppContext.bodyLimit {
            refuseBody(context: context, version: head.version)
            return
        }
        if expectsContinue { head.headers.remove(name: "expect") }
        // An interim answer written while an earlier response is still going out would land
        // inside it, so it waits for the responses ahead of it.
        let continueNow = expectsContinue && pending.isEmpty && !responseInFlight
        pending.append(Pending(version: head.version, head: head.method == .HEAD, keepAlive: head.isKeepAlive,
                               awaitsContinue: expectsContinue && !continueNow))
        if !head.isKeepAlive {
            head.headers.replaceOrAdd(name: "connection", value: "close")
        }
        if head.method == .HEAD { head.method = .GET }
        if continueNow { writeContinue(context: context, version: head.version) }
        context.fireChannelRead(wrapInboundOut(.head(head)))
    }

    /// Answers 413 in the OpenAI error shape, then closes; the body was never asked for.
    private func refuseBody(context: ChannelHandlerContext, version: HTTPVersion) {
        refused = true
        let error = APIError(.contentTooLarge, .invalidRequest,
                             "The request body is larger than the limit of \(AppContext.bodyLimit) bytes")
        let body = ByteBuffer(bytes: (try? JSONResponse.encode(error.body)) ?? Data())
        var headers = HTTPHeaders()
        headers.add(name: "content-type", value: "application/json; charset=utf-8")
        headers.add(name: "content-length", value: "\(body.readableBytes)")
        headers.add(name: "connection", value: "close")
        let head = HTTPResponseHead(version: version, status: .payloadTooLarge, headers: headers)
        context.write(wrapOutboundOut(.head(head)), promise: nil)
        context.write(wrapOutboundOut(.body(.byteBuffer(body))), promise: nil)
        let channel = context.channel
        context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { _ in channel.close(promise: nil) }
    }

    private func writeContinue(context: ChannelHandlerContext, version: HTTPVersion) {
        context.writeAndFlush(wrapOutboundOut(.head(HTTPResponseHead(version: version, status: .continue))), promise: nil)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        switch unwrapOutboundIn(data) {
        case .head(var head):
            let informational = (100..<200).contains(head.status.code) && head.status.code != 101
            if !informational, let request = pending.popFirst() {
                responseInFlight = true
                droppingBody = request.head
                var keepAlive = request.keepAlive
                if request.version.major == 1 && request.version.minor == 0 {
                    head.version = request.version
                    if !head.headers.contains(name: "content-length") && !request.head { keepAlive = false }
                }
                closingAfterEnd = keepAlive != request.keepAlive
                if !keepAlive { head.headers.replaceOrAdd(name: "connection", value: "close") }
            }
            if !informational {
                closesConnection = head.headers["connection"].contains { $0.lowercased().contains("close") }
            }
            context.write(wrapOutboundOut(.head(head)), promise: promise)
        case .body where droppingBody:
            promise?.succeed(())
        case .body:
            context.write(data, promise: promise)
        case .end:
            responseInFlight = false
            droppingBody = false
            let delimitsBody = closingAfterEnd
            if delimitsBody || closesConnection {
                closingAfterEnd = false
                closesConnection = false
                let written = promise ?? context.eventLoop.makePromise()
                let channel = context.channel
                context.writeAndFlush(data, promise: written)
                written.futureResult.whenComplete { _ in
                    // A body delimited by the close ends with the FIN at once; the descriptor
                    // goes a little later either way.
                    if delimitsBody {
                        channel.close(mode: .output).whenFailure { _ in channel.close(promise: nil) }
                    }
                    channel.eventLoop.scheduleTask(in: Self.lingerAfterClose) { channel.close(promise: nil) }
                }
                return
            }
            context.write(data, promise: promise)
            if let next = pending.first, next.awaitsContinue {
                pending[pending.startIndex].awaitsContinue = false
                writeContinue(context: context, version: next.version)
            }
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
