import GRPCCore
import Logging
import ServiceLifecycle

/// The names, default ports and configuration keys of Atelier's services.
///
/// - <service>.port (int, defaults auth 8081, catalog 8082, generation 8083, commerce 8084): gRPC port
/// - <service>.listen-host (string, default 127.0.0.1): address the service binds
/// - <service>.host (string, default 127.0.0.1): address other services call it on
public enum ServiceName: String, CaseIterable, Sendable {
    case auth, catalog, generation, commerce

    public var defaultPort: Int {
        switch self {
        case .auth: 8081
        case .catalog: 8082
        case .generation: 8083
        case .commerce: 8084
        }
    }

    /// The fully-qualified gRPC service this process hosts.
    public var grpcService: String {
        switch self {
        case .auth: "atelier.auth.v1.AuthService"
        case .catalog: "atelier.catalog.v1.CatalogService"
        case .generation: "atelier.generation.v1.GenerationService"
        case .commerce: "atelier.commerce.v1.CommerceService"
        }
    }

    public func port(_ configuration: Configuration) throws -> Int {
        try configuration.int("\(rawValue).port", default: defaultPort, range: 0...65535)
    }

    public func listenHost(_ configuration: Configuration) -> String {
        configuration.string("\(rawValue).listen-host", default: "127.0.0.1")
    }

    public func host(_ configuration: Configuration) -> String {
        configuration.string("\(rawValue).host", default: "127.0.0.1")
    }
}

/// One service ready to run: its database, its gRPC server and any background work, in the
/// order they start (and the reverse of the order they stop).
public struct HostedService: Sendable {
    public let name: ServiceName
    public let database: any Database
    public let server: RPCServer
    public let background: [any Service]

    public init(name: ServiceName, database: any Database, server: RPCServer, background: [any Service] = []) {
        self.name = name
        self.database = database
        self.server = server
        self.background = background
    }

    public var lifecycle: [any Service] { [database] + background + [server] }

    /// Builds the usual shape: the service's database with its migrations applied before the
    /// server accepts a call. Back-office credentials are checked with auth (`AuthCredentialCheck`)
    /// unless the service brings its own check (auth, which holds the records).
    ///
    /// - credentials.cache-seconds (int, default 30): how long an answer about a back-office
    ///   credential is kept; a revocation takes effect everywhere within it
    public static func make(
        _ name: ServiceName, configuration: Configuration, verifier: PrincipalVerifier, logger: Logger,
        migrations: [Migration], credentials: ((any Database, Duration) -> any CredentialCheck)? = nil,
        directory: ServiceDirectory? = nil,
        services: @Sendable (any Database) async throws -> [any RegistrableRPCService],
        background: [any Service] = []
    ) async throws -> HostedService {
        let database = try await ServiceDatabase.open(service: name.rawValue, configuration: configuration, logger: logger)
        let migrator = Migrator(service: name.rawValue, migrations: migrations)
        let schema = ServiceDatabase.schema(service: name.rawValue, configuration: configuration)
        var background = background
        let cacheLifetime = Duration.seconds(try configuration.int("credentials.cache-seconds", default: 30, range: 0...3600))
        let check: any CredentialCheck
        if let credentials {
            check = credentials(database, cacheLifetime)
        } else {
            let remote = AuthCredentialCheck(configuration: configuration, directory: directory, cacheLifetime: cacheLifetime)
            background.insert(remote, at: 0)
            check = remote
        }
        let server = RPCServer(
            name: name.rawValue, host: name.listenHost(configuration), port: try name.port(configuration),
            services: try await services(database), serviceNames: [name.grpcService], verifier: verifier,
            access: try MethodAccess.bundled(), credentials: check, logger: logger,
            local: directory?.serveLocally(name), prepare: { try await migrator.migrate(database, schema: schema, logger: logger) })
        if let directory {
            background.append(ReadyAnnouncer { directory.register(name, port: try await server.listeningPort()) })
        }
        return HostedService(name: name, database: database, server: server, background: background)
    }
}

/// Runs a piece of work once the service group starts, then waits for shutdown.
struct ReadyAnnouncer: Service {
    let work: @Sendable () async throws -> Void

    func run() async throws {
        try await work()
        try? await gracefulShutdown()
    }
}
