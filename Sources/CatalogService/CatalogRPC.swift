import AtelierProtos
import Foundation
import GRPCCore
import Logging
import ServiceKit

/// The catalog service's RPCs, one file per kind of object: `CatalogRPC+Characters`,
/// `+Themes`, `+Collections`, `+Media`, `+Heroes`, `+Stories`, `+CustomEvents`, `+Account`.
///
/// Ownership is part of every statement (`WHERE id = $1 AND user_id = $2`): another user's
/// object is not found, and nothing a request carries can widen that.
public final class CatalogRPC: Atelier_Catalog_V1_CatalogService.SimpleServiceProtocol, Sendable {
    let database: any Database
    let logger: Logger

    init(database: any Database, logger: Logger) {
        self.database = database
        self.logger = logger
    }

    /// The signed-in user a user-facing call acts for.
    func user() throws -> String {
        try Caller.user().id
    }

    /// Items in one services-only batch call at most (`GetCharacters`, `AttachMediaBatch`).
    static let batchLimit = 100

    /// Refuses a batch call from anyone but a service, or of more than `batchLimit` items.
    func serviceBatch(_ count: Int, of items: String) throws {
        _ = try Caller.service()
        guard count <= Self.batchLimit else { throw ServiceError.invalid(items, "at most \(Self.batchLimit) \(items) at once") }
    }

    /// The user a services-only call is about: generation and the edge name the user, users
    /// may not call these at all.
    func serviceSubject(_ userID: String) throws -> String {
        _ = try Caller.service()
        return try Rules.userID(userID)
    }
}

/// Builds the catalog service from configuration.
///
/// - catalog.recount-minutes (int, default 60): how often kept counters are checked against
///   their rows (`CounterRepair`); the first check runs at start-up
public enum CatalogServer {
    public static func make(configuration: Configuration, verifier: PrincipalVerifier, logger: Logger,
                            directory: ServiceDirectory? = nil) async throws -> HostedService {
        let rpcLogger = Logger(label: "atelier.catalog")
        let recountInterval = Duration.seconds(60 * (try configuration.int("catalog.recount-minutes", default: 60, range: 1...10_080)))
        let hosted = try await HostedService.make(
            .catalog, configuration: configuration, verifier: verifier, logger: logger,
            migrations: CatalogMigrations.all, directory: directory,
            services: { database in [CatalogRPC(database: database, logger: rpcLogger)] })
        let server = hosted.server
        let repair = CounterRepair(database: hosted.database, logger: rpcLogger)
        let recount = PeriodicWork(every: recountInterval, after: { _ = try await server.listeningPort() }) {
            await repair.run()
        }
        return HostedService(name: .catalog, database: hosted.database, server: server, background: hosted.background + [recount])
    }
}
