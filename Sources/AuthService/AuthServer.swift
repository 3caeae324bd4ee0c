import Logging
import ServiceKit
import ServiceLifecycle

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
        let server = hosted.server
        let ready: @Sendable () async throws -> Void = { _ = try await server.listeningPort() }
        var background: [any Service] = [
            Housekeeping(database: hosted.database, interval: settings.housekeepingInterval,
                         throttleWindow: settings.loginWindow, logger: rpcLogger, ready: ready),
        ]
        if let smtp = settings.smtp {
            background.append(MailDelivery(outbox: MailOutbox(database: hosted.database), client: SMTPClient(settings: smtp),
                                           interval: settings.mailPollInterval, logger: rpcLogger, ready: ready))
        }
        return HostedService(name: .auth, database: hosted.database, server: hosted.server, background: background)
    }
}
