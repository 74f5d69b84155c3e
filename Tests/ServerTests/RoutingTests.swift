import Foundation
import Hummingbird
import Testing
@testable import Server

/// Which paths need an API key, what /health says in each loading state, and log line shapes.
struct RoutingTests {
    @Test func apiKeysGuardAPIRoutesOnly() {
        for path in ["/completion", "/completions", "/v1/chat/completions", "/v1/models", "/slots", "/slots/0", "/metrics",
                     "/props", "/tokenize", "/embedding", "/infill", "/chat/completions"] {
            #expect(APIKeyMiddleware.isAPI(path), "\(path)")
        }
        for path in ["/", "/index.html", "/completion.js", "/completions.txt", "/slotsmachine.png", "/v1x"] {
            #expect(!APIKeyMiddleware.isAPI(path), "\(path)")
        }
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
