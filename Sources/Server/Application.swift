import Hummingbird
import HummingbirdCore
import Logging
import NIOCore
import NIOPosix

/// Builds the HTTP application: every route of llama-server over `host`'s model.
/// The model may still be loading; routes answer 503 until `host` is ready. HTTPS when
/// `configuration.tls` is set.
public func buildApplication(host: ModelHost, configuration: ServerConfiguration,
                             logger: Logger = Logger(label: "cria.server")) throws -> some ApplicationProtocol {
    AppContext.bodyLimit = configuration.maxBodyBytes
    AppContext.writeTimeout = .seconds(max(1, configuration.timeoutSeconds))
    let logger = configuration.log.map { log in Logger(label: logger.label) { _ in ServerLogHandler(log) } } ?? logger
    let router = Router(context: AppContext.self)
    if let log = configuration.log { router.add(middleware: RequestLogMiddleware(log: log)) }
    router.add(middleware: CORSMiddleware(policy: configuration.cors))
    router.add(middleware: OpenAIErrorMiddleware())
    if !configuration.apiKeys.isEmpty {
        router.add(middleware: APIKeyMiddleware(keys: Set(configuration.apiKeys), staticRoot: configuration.staticPath,
                                                healthAlias: configuration.vertexAI?.healthRoute))
    }
    if configuration.sleepIdleSeconds != nil {
        router.add(middleware: SleepActivityMiddleware(host: host, healthAlias: configuration.vertexAI?.healthRoute))
        IdleSleepMonitor.start(host: host, configuration: configuration)
    }
    if configuration.webUIEnabled { router.add(middleware: WebFrontEndMiddleware()) }
    if let path = configuration.staticPath {
        router.add(middleware: FileMiddleware(path, searchForIndexHtml: true, logger: logger))
    }
    HealthController(host: host, slotsEnabled: configuration.slotsEndpointEnabled).addRoutes(to: router)
    CompletionController(host: host).addRoutes(to: router)
    let openAI = OpenAIController(host: host, configuration: configuration)
    openAI.addRoutes(to: router)
    AnthropicController(host: host, chats: openAI).addRoutes(to: router)
    ResponsesController(host: host, chats: openAI).addRoutes(to: router)
    TokenizeController(host: host).addRoutes(to: router)
    LoraController(host: host).addRoutes(to: router)
    PropsController(host: host, configuration: configuration).addRoutes(to: router)
    SlotsController(host: host, enabled: configuration.slotsEndpointEnabled, savePath: configuration.slotSavePath)
        .addRoutes(to: router)
    EmbeddingController(host: host, enabled: configuration.embeddingsEnabled).addRoutes(to: router)
    MetricsController(host: host, enabled: configuration.metricsEnabled).addRoutes(to: router)
    RerankController(host: host, enabled: configuration.rerankingEnabled).addRoutes(to: router)

    if let vertex = configuration.vertexAI {
        if let health = vertex.healthRoute {
            let controller = HealthController(host: host, slotsEnabled: configuration.slotsEndpointEnabled)
            router.get(RouterPath(health)) { request, _ in try controller.health(request) }
        }
        let box = ResponderBox()
        VertexPredictionController(configuration: vertex, responder: box).addRoutes(to: router)
        box.value = router.buildResponder()
    }

    let timeout = TimeAmount.seconds(Int64(max(1, configuration.timeoutSeconds)))
    let group: EventLoopGroupProvider = configuration.httpThreads.map {
        .shared(MultiThreadedEventLoopGroup(numberOfThreads: max(1, $0)))
    } ?? .singleton
    let limit = configuration.connectionLimit
    let http = HTTPServerBuilder.http1(configuration: .init(
        additionalChannelHandlers: (limit.map { [$0.gate()] } ?? []) + [HTTP1CompatibilityInstaller(), ConnectionWatch()],
        idleTimeout: timeout))
    return Application(router: router, server: try configuration.tls?.wrapping(http) ?? http,
                       configuration: .init(address: .hostname(configuration.host, port: configuration.port),
                                            serverName: "cria"),
                       eventLoopGroupProvider: group, logger: logger)
}
