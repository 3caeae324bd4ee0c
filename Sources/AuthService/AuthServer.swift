import Logging
import ServiceKit

/// Builds the auth service from configuration.
public enum AuthServer {
    public static func make(configuration: Configuration, verifier: PrincipalVerifier, logger: Logger) async throws -> HostedService {
        let settings = try AuthSettings(configuration)
        let pool = BoundedWorkPool(threads: settings.hashThreads, returnsMemoryWhenIdle: true)
        let rpcLogger = Logger(label: "atelier.auth")
        let hosted = try await HostedService.make(
            .auth, configuration: configuration, verifier: verifier, logger: logger,
            migrations: AuthMigrations.all,
            services: { database in
                [try await AuthRPC(database: database, settings: settings, hashPool: pool, logger: rpcLogger)]
            })
        guard let smtp = settings.smtp else { return hosted }
        let delivery = MailDelivery(outbox: MailOutbox(database: hosted.database), client: SMTPClient(settings: smtp),
                                    interval: settings.mailPollInterval, logger: rpcLogger)
        return HostedService(name: .auth, database: hosted.database, server: hosted.server, background: [delivery])
    }
}
