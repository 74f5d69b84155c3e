import Hummingbird

/// Serves `host` on each of `addresses` (llama-server's comma-separated `--host`), every
/// listener with the same routes and settings, until the process is told to stop.
public func runListeners(host: ModelHost, configuration: ServerConfiguration, addresses: [String]) async throws {
    try await withThrowingTaskGroup(of: Void.self) { group in
        for address in addresses {
            var configuration = configuration
            configuration.host = address
            let app = buildApplication(host: host, configuration: configuration)
            group.addTask { try await app.runService() }
        }
        try await group.waitForAll()
    }
}
