import Logging
import ServiceKit

/// Builds the auth service from configuration.
public enum AuthServer {
    public static func make(configuration: Configuration, verifier: PrincipalVerifier, logger: Logger) async throws -> HostedService {
        let settings = try AuthSettings(configuration)
        let pool = BoundedWorkPool(threads: settings.hashThreads)
        let rpcLogger = Logger(label: "atelier.auth")
        return try await HostedService.make(
            .auth, configuration: configuration, verifier: verifier, logger: logger,
            migrations: AuthMigrations.all,
            services: { database in
                [try await AuthRPC(database: database, settings: settings, hashPool: pool, logger: rpcLogger)]
            })
    }
}
