import Logging
import ServiceKit
import ServiceLifecycle

/// Builds the auth service from configuration.
public enum AuthServer {
    public static func make(configuration: Configuration, verifier: PrincipalVerifier, logger: Logger,
                            directory: ServiceDirectory? = nil) async throws -> HostedService {
        let settings = try AuthSettings(configuration)
        let pool = BoundedWorkPool(threads: settings.hashThreads, returnsMemoryWhenIdle: true)
        let rpcLogger = Logger(label: "atelier.auth")
        let bell = MailBell()
        let hosted = try await HostedService.make(
            .auth, configuration: configuration, verifier: verifier, logger: logger,
            migrations: AuthMigrations.all,
            credentials: { database, lifetime in RecordedCredentials(database: database, answers: CredentialAnswers(lifetime: lifetime)) },
            directory: directory,
            services: { database in
                [try await AuthRPC(database: database, settings: settings, hashPool: pool, mailBell: bell, logger: rpcLogger)]
            })
        let server = hosted.server
        let ready: @Sendable () async throws -> Void = { _ = try await server.listeningPort() }
        let housekeeping = Housekeeping(database: hosted.database, throttleWindow: settings.loginWindow, logger: rpcLogger)
        var background: [any Service] = hosted.background + [
            pool, PeriodicWork(every: settings.housekeepingInterval, after: ready) { await housekeeping.run() },
        ]
        if let smtp = settings.smtp {
            background.append(MailDelivery(outbox: MailOutbox(database: hosted.database, deliversToLog: false), client: SMTPClient(settings: smtp),
                                           bell: bell, interval: settings.mailPollInterval, ready: ready, logger: rpcLogger))
        }
        return HostedService(name: .auth, database: hosted.database, server: hosted.server, background: background)
    }
}
