import Hummingbird
import NIOCore
import Logging
import ServiceLifecycle

/// Serves `host` on each of `addresses` (llama-server's comma-separated `--host`), every
/// listener with the same routes and settings, until a signal stops them (`GracefulShutdown`).
public func runListeners(host: ModelHost, configuration: ServerConfiguration, addresses: [String]) async throws {
    var configuration = configuration
    if configuration.connectionLimit == nil {
        let loops = configuration.httpThreads ?? System.coreCount
        configuration.connectionLimit = .forThisProcess(log: configuration.log, eventLoops: max(1, loops))
    }
    let apps = try addresses.map { address in
        var configuration = configuration
        configuration.host = address
        return try buildApplication(host: host, configuration: configuration)
    }
    let logger = configuration.log.map { log in Logger(label: "cria.server") { _ in ServerLogHandler(log) } }
        ?? Logger(label: "cria.server")
    var groupConfiguration = ServiceGroupConfiguration(services: apps.map { .init(service: $0) }, logger: logger)
    // Past the grace period the engine ends every generation; this bounds the time the last
    // responses then take to go out (a client that stopped reading, say).
    groupConfiguration.maximumGracefulShutdownDuration = configuration.shutdownGrace + .seconds(10)
    let group = ServiceGroup(configuration: groupConfiguration)
    let shutdown = GracefulShutdown(host: host, grace: configuration.shutdownGrace, log: configuration.log)
    shutdown.install { await group.triggerGracefulShutdown() }
    do {
        try await group.run()
    } catch where shutdown.isShuttingDown {
        // Connections still open when the bound ran out were cut: the shutdown is still a clean one.
        configuration.log?.warn("shutdown: connections still open were closed (\(error))")
    } catch {
        // Most often the port is taken: say which address could not be served.
        let targets = addresses.map { "\($0):\(configuration.port)" }.joined(separator: ", ")
        throw ListenError(description: "cannot serve on \(targets): \(error)")
    }
    configuration.log?.info("server stopped")
}

/// A listener could not start (the port is taken, the address is not this machine's, …).
public struct ListenError: Error, CustomStringConvertible {
    public let description: String
}
