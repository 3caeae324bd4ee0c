import AtelierProtos
import Foundation
import GRPCCore
import Hummingbird
import Logging
import ServiceKit
import ServiceLifecycle

/// The REST edge: Hummingbird in front of the four gRPC services.
///
/// - edge.port (int, default 8080): HTTP port
/// - edge.listen-host (string, default 127.0.0.1): address to bind
/// - edge.max-body-bytes (int, default 1048576): largest request body accepted
/// - edge.cors-origins (string, default none): comma-separated origins allowed by CORS, or `*`
/// - edge.session-cache-seconds (int, default 30): how long a validated session token is cached
/// - edge.principal-seconds (int, default 120): lifetime of the principals the edge signs
/// - edge.call-timeout-seconds (number, default 10): deadline of every call to a service
/// - edge.rate-limits (bool, default true): enforce the routes' per-address rate limits
/// - edge.trusted-proxies (int, default 0): proxies in front whose X-Forwarded-For entries are believed
/// - edge.idempotency-seconds (int, default 86400): how long a reply to a POST with an Idempotency-Key is kept
/// - edge.purge-sweep-seconds (int, default 60): how often deleted accounts whose purge did not
///   finish are looked for, and the first pause before one is tried again (doubling, up to an hour)
/// - edge.idle-timeout-seconds, edge.header-timeout-seconds, edge.body-timeout-seconds: how long
///   a client may take (`ClientTimeouts`)
/// - blobs.* and public-url: where files are stored and how links to them read (`BlobSettings`)
public struct EdgeServer: Sendable {
    public let clients: [ServiceClient]
    /// Work the edge does on its own: finishing the purges of deleted accounts.
    public let background: [any Service]
    public let application: any Service
    private let listening: ListeningPort

    public var lifecycle: [any Service] { clients.flatMap(\.lifecycle) + background + [application] }

    /// The bound HTTP port, once the server listens.
    public func port() async -> Int { await listening.value() }

    /// - Parameter directory: the services of this process, called without a socket; without it,
    ///   or for a service it does not hold, calls go over HTTP/2 to the configured host and port.
    public static func make(configuration: Configuration, signer: PrincipalSigner, logger: Logger,
                            directory: ServiceDirectory? = nil) throws -> EdgeServer {
        let timeout = try configuration.seconds("edge.call-timeout-seconds", default: 10)
        var clients: [String: ServiceClient] = [:]
        var byName: [ServiceName: ServiceClient] = [:]
        for service in ServiceName.allCases {
            let client = try ServiceClient.make(service, configuration: configuration, directory: directory, timeout: timeout)
            clients[service.grpcService] = client
            byName[service] = client
        }
        let servicePrincipal = ServicePrincipal(signer: signer)
        let upstreams = try Upstreams(clients: byName, edge: servicePrincipal)
        let sessions = SessionResolver(
            upstreams: upstreams, signer: signer,
            cacheLifetime: .seconds(try configuration.int("edge.session-cache-seconds", default: 30, range: 0...3600)),
            principalLifetime: .seconds(try configuration.int("edge.principal-seconds", default: 120, range: 10...86_400)))
        let maxBodyBytes = try configuration.int("edge.max-body-bytes", default: 1 << 20, range: 1024...(64 << 20))
        let schema = try ProtoSchema.bundled()
        let rateLimiter = try configuration.bool("edge.rate-limits", default: true) ? RateLimiter() : nil
        let transcoder = Transcoder(
            codec: MessageCodec(schema: schema), upstreams: clients, sessions: sessions, servicePrincipal: servicePrincipal,
            maxBodyBytes: maxBodyBytes, rateLimiter: rateLimiter,
            idempotency: IdempotencyWindow(
                lifetime: .seconds(try configuration.int("edge.idempotency-seconds", default: 86_400, range: 60...604_800))))
        let blobs = try BlobSettings(configuration, signer: signer)
        let files = FileRoutes(upstreams: upstreams, store: blobs.store, local: blobs.store as? LocalBlobStore, sessions: sessions,
                               rateLimiter: rateLimiter,
                               uploadLifetime: blobs.uploadLifetime, downloadLifetime: blobs.downloadLifetime,
                               publicBaseURL: blobs.publicBaseURL)
        let clientAddress = ClientAddress(trustedProxies: try configuration.int("edge.trusted-proxies", default: 0, range: 0...10))
        let routes = try RouteTable.routes(in: schema)

        let router = Router(context: EdgeRequestContext.self)
        // Outermost first: the request id, headers and CORS apply to error responses too.
        router.add(middleware: RequestIDMiddleware())
        router.add(middleware: SecurityHeadersMiddleware())
        let origins = configuration.string("edge.cors-origins", default: "")
            .split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        if !origins.isEmpty { router.add(middleware: AllowedOriginsMiddleware(origins: origins)) }
        router.add(middleware: ErrorMiddleware(logger: logger))

        let probes = Probes(clients: byName)
        router.get("/healthz") { _, _ in Probes.json(.object([("status", .string("ok"))])) }
        router.get("/readyz") { _, _ in await probes.readiness() }
        // The baseline for scripts/bench: the cheapest response this edge can give.
        router.get("/hello") { _, _ in Probes.json(.object([("message", .string("hello"))])) }
        let openAPI = OpenAPIDocument(schema: schema, routes: routes, extraPaths: Probes.openAPIPaths + WebhookIngress.openAPIPaths + ReplicateWebhookIngress.openAPIPaths + AccountData.openAPIPaths + FileRoutes.openAPIPaths
                                      + GalleryDownload.openAPIPaths)
            .json().serialized()
        router.get("/openapi.json") { _, _ in
            Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: openAPI)))
        }
        let webhooks = WebhookIngress(upstreams: upstreams, sessions: sessions, maxBodyBytes: maxBodyBytes)
        for path in WebhookIngress.paths {
            router.post(RouterPath(path)) { request, _ in try await webhooks.handle(request) }
        }
        let replicate = ReplicateWebhookIngress(upstreams: upstreams, maxBodyBytes: maxBodyBytes)
        router.post(RouterPath(ReplicateWebhookIngress.path)) { request, _ in try await replicate.handle(request) }
        let sandbox = SandboxCheckoutPage(upstreams: upstreams, sessions: sessions)
        router.get(RouterPath(SandboxCheckoutPage.path)) { _, context in try await sandbox.show(context) }
        router.post(RouterPath(SandboxCheckoutPage.path)) { request, context in try await sandbox.choose(request, context) }
        let purgeSweep = Duration.seconds(try configuration.int("edge.purge-sweep-seconds", default: 60, range: 1...3600))
        let purger = AccountPurger(upstreams: upstreams, blobs: blobs.store, retryPause: purgeSweep,
                                   settle: sessions.principalLifetime, logger: logger)
        let account = AccountData(upstreams: upstreams, purger: purger, sessions: sessions, shaper: transcoder.shaper)
        router.get(RouterPath(AccountData.exportPath)) { request, _ in try await account.export(request) }
        router.post(RouterPath(FileRoutes.uploadPath)) { request, _ in try await files.upload(request) }
        let galleryPool = BoundedWorkPool(threads: 2, maxQueued: 64)
        let gallery = GalleryDownload(upstreams: upstreams, store: blobs.store, sessions: sessions, pool: galleryPool, logger: logger)
        router.get(RouterPath(GalleryDownload.path)) { request, context in try await gallery.download(request, context) }
        let jobEvents = JobEventStream(upstreams: upstreams, sessions: sessions)
        router.get(RouterPath(JobEventStream.path)) { request, context in try await jobEvents.events(request, context) }
        router.put(RouterPath(FileRoutes.filePath)) { request, context in try await files.put(request, context) }
        router.get(RouterPath(FileRoutes.filePath)) { request, context in try await files.get(request, context) }
        for route in routes {
            router.on(RouterPath(route.routerPath), method: route.method) { request, context in
                let client = clientAddress.of(request, context: context)
                if route.rpc.name == "DeleteAccount" {
                    return try await account.deleteAccount(request) {
                        try await transcoder.handle(route, request: request, context: context, client: client)
                    }
                }
                return try await transcoder.handle(route, request: request, context: context, client: client)
            }
        }

        let listening = ListeningPort()
        let app = Application(
            router: router,
            server: TimedHTTP1Channel.builder(try ClientTimeouts(configuration)),
            configuration: .init(
                address: .hostname(configuration.string("edge.listen-host", default: "127.0.0.1"),
                                   port: try configuration.int("edge.port", default: 8080, range: 0...65535)),
                serverName: "atelier"),
            onServerRunning: { channel in await listening.set(channel.localAddress?.port ?? 0) },
            logger: logger)
        let sweep = PeriodicWork(every: purgeSweep, after: {}) { await purger.sweep() }
        let pools: [any Service] = [galleryPool] + (blobs.pool.map { [$0] } ?? [])
        return EdgeServer(clients: Array(clients.values), background: pools + [sweep], application: app, listening: listening)
    }
}

/// The port the HTTP server bound, available once it listens.
actor ListeningPort {
    private var port: Int?
    private var waiters: [CheckedContinuation<Int, Never>] = []

    func set(_ port: Int) {
        self.port = port
        for waiter in waiters { waiter.resume(returning: port) }
        waiters.removeAll()
    }

    func value() async -> Int {
        if let port { return port }
        return await withCheckedContinuation { waiters.append($0) }
    }
}
