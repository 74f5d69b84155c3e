import Foundation
import Hummingbird
import Testing
@testable import Server

/// Which paths need an API key, what /health says in each loading state, and log line shapes.
struct RoutingTests {
    @Test func apiKeysGuardEverythingButHealthPreflightsAndFrontEnd() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("cria-static-\(UUID())")
        try FileManager.default.createDirectory(at: folder.appendingPathComponent("app"), withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        try Data("x".utf8).write(to: folder.appendingPathComponent("style.css"))
        try Data("x".utf8).write(to: folder.appendingPathComponent("app/index.html"))
        let keys = APIKeyMiddleware(keys: ["k"], staticRoot: folder.path)
        for path in ["/completion", "/completions", "/v1/chat/completions", "/v1/models", "/models", "/slots", "/metrics",
                     "/props", "/tokenize", "/infill", "/no-such-route", "/v1x", "/../etc/passwd", "/app/../style.css",
                     "/ui/no-such-module.js"] {
            #expect(!keys.isOpen(method: .get, path: path), "\(path)")
        }
        for path in ["/health", "/v1/health", "/", "/index.html", "/completion.js", "/ui/app.js", "/ui/style.css", "/style.css", "/app"] {
            #expect(keys.isOpen(method: .get, path: path), "\(path)")
        }
        #expect(!keys.isOpen(method: .post, path: "/style.css"))
        #expect(keys.isOpen(method: .options, path: "/completion"))
    }

    func health(_ state: ModelHost.State) throws -> Response {
        let host = ModelHost()
        host.set(state)
        let request = Request(head: HTTPRequest(method: .get, scheme: nil, authority: nil, path: "/health"),
                              body: RequestBody(buffer: ByteBuffer()))
        return try HealthController(host: host, slotsEnabled: true).health(request)
    }

    @Test func healthReportsLoadingAndFailure() throws {
        #expect(try health(.loading).status == .serviceUnavailable)
        #expect(try health(.failed("bad file")).status == .internalServerError)
    }

    @Test func logLinesAreJSONOrText() throws {
        let time = Date(timeIntervalSince1970: 1_700_000_000)
        let json = ServerLog(json: true).line("INFO", "request", ["path": "/a/b", "status": "200"], time: time)
        #expect(json == #"{"level":"INFO","msg":"request","path":"/a/b","status":"200","timestamp":"1700000000"}"#)
        let text = ServerLog(json: false).line("WARN", "careful", ["b": "2", "a": "1"], time: time)
        #expect(text == "WARN careful a=1 b=2")
    }
}
