import GRPCCore
import Logging
import ServiceLifecycle

/// One service's gRPC server as a lifecycle service: runs its start-up work (migrations), listens,
/// reports SERVING, and on SIGTERM/SIGINT reports NOT_SERVING and drains in-flight calls.
public final class RPCServer: Service, Sendable {
    public let name: String
    public let health: HealthService
    private let server: GRPCServer<FrameServerTransport>
    private let transport: FrameServerTransport
    /// The same services, interceptors and health for calls from this process (`LocalChannel`).
    private let localServer: GRPCServer<LocalServerTransport>?
    private let prepare: @Sendable () async throws -> Void
    private let logger: Logger

    /// - Parameters:
    ///   - serviceNames: fully-qualified names reported by the health service (`atelier.auth.v1.AuthService`).
    ///   - local: the transport calls from this process arrive on, when they skip the socket.
    ///   - prepare: work that must finish before the first call is accepted.
    public init(
        name: String, host: String, port: Int, services: [any RegistrableRPCService], serviceNames: [String],
        verifier: PrincipalVerifier, access: MethodAccess, credentials: (any CredentialCheck)?, logger: Logger,
        local: LocalServerTransport? = nil, prepare: @escaping @Sendable () async throws -> Void = {}
    ) {
        self.name = name
        self.logger = logger
        self.prepare = prepare
        let health = HealthService(services: serviceNames)
        self.health = health
        let transport = FrameServerTransport(host: host, port: port, maxRequestBytes: 4 * 1024 * 1024)
        self.transport = transport
        let hosted: [any RegistrableRPCService] = services + [health, CallerService()]
        let interceptors: [any ServerInterceptor] = [
            ErrorBoundaryInterceptor(logger: logger),
            PrincipalInterceptor(verifier: verifier, access: access, credentials: credentials),
        ]
        self.server = GRPCServer(transport: transport, services: hosted, interceptors: interceptors)
        self.localServer = local.map { GRPCServer(transport: $0, services: hosted, interceptors: interceptors) }
    }

    /// The bound port, once the server listens; waits until then.
    public func listeningPort() async throws -> Int {
        try await transport.listeningPort()
    }

    /// The start-up work alone (migrations), for `atelier migrate`.
    public func migrate() async throws {
        try await prepare()
    }

    public func run() async throws {
        try await prepare()
        try await withGracefulShutdownHandler {
            try await withThrowingDiscardingTaskGroup { group in
                group.addTask { try await self.server.serve() }
                if let localServer = self.localServer { group.addTask { try await localServer.serve() } }
                let port = try await self.listeningPort()
                self.health.setAll(.serving)
                self.logger.info("gRPC service listening", metadata: ["service": "\(self.name)", "port": "\(port)"])
            }
        } onGracefulShutdown: {
            self.health.setAll(.notServing)
            self.server.beginGracefulShutdown()
            self.localServer?.beginGracefulShutdown()
        }
    }
}
