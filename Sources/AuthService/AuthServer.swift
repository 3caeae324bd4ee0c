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
        let housekeeping = Housekeeping(database: hosted.database, throttleWindow: settings.loginWindow, logger: rpcLogger)
        var background: [any Service] = [PeriodicWork(every: settings.housekeepingInterval, after: ready) { await housekeeping.run() }]
        if let smtp = settings.smtp {
            let delivery = MailDelivery(outbox: MailOutbox(database: hosted.database), client: SMTPClient(settings: smtp), logger: rpcLogger)
            background.append(PeriodicWork(every: settings.mailPollInterval, after: ready) { await delivery.deliverPending() })
        }
        return HostedService(name: .auth, database: hosted.database, server: hosted.server, background: background)
    }
}
