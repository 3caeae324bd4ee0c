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
    /// server accepts a call.
    public static func make(
        _ name: ServiceName, configuration: Configuration, verifier: PrincipalVerifier, logger: Logger,
        migrations: [Migration], services: @Sendable (any Database) async throws -> [any RegistrableRPCService],
        background: [any Service] = []
    ) async throws -> HostedService {
        let database = try await ServiceDatabase.open(service: name.rawValue, configuration: configuration, logger: logger)
        let migrator = Migrator(service: name.rawValue, migrations: migrations)
        let schema = ServiceDatabase.schema(service: name.rawValue, configuration: configuration)
        let server = RPCServer(
            name: name.rawValue, host: name.listenHost(configuration), port: try name.port(configuration),
            services: try await services(database), serviceNames: [name.grpcService], verifier: verifier, logger: logger,
            prepare: { try await migrator.migrate(database, schema: schema, logger: logger) })
        return HostedService(name: name, database: database, server: server, background: background)
    }
}
