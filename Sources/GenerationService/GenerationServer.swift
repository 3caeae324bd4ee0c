import AtelierProtos
import Crypto
import Logging
import ServiceKit
import ServiceLifecycle
import Synchronization

/// Builds the generation service from configuration: its jobs' schema, the RPCs, the workers
/// and the local provider, and the clients of commerce and catalog a job crosses.
public enum GenerationServer {
    public static func make(configuration: Configuration, verifier: PrincipalVerifier, logger: Logger,
                            directory: ServiceDirectory? = nil) async throws -> HostedService {
        let settings = try GenerationSettings(configuration)
        let rpcLogger = Logger(label: "atelier.generation")
        let commerce = LazyServiceClient(.commerce, configuration: configuration, directory: directory, timeout: .seconds(10))
        let catalog = LazyServiceClient(.catalog, configuration: configuration, directory: directory, timeout: .seconds(10))
        let auth = LazyServiceClient(.auth, configuration: configuration, directory: directory, timeout: .seconds(10))
        let peers = Peers(commerce: commerce, catalog: catalog, auth: auth, credential: settings.credential)
        // Generation hands out no signed links: its results are served from `generated/`.
        let (store, storePool) = try BlobStoreConfiguration.make(configuration, linkKey: SymmetricKey(size: .bits256))
        let renderPool = BoundedWorkPool(threads: 2, maxQueued: 1024)
        let webhookSecret = configuration.string("generation.replicate.webhook-secret").flatMap { $0.isEmpty ? nil : $0 }
        if let webhookSecret, ReplicateWebhooks.key(webhookSecret) == nil {
            throw ConfigurationError.invalid(key: "generation.replicate.webhook-secret", value: "…", expected: "whsec_ followed by base64")
        }
        let costs = try CostTable.load(path: configuration.string("generation.cost-table"))
        let made = MadeRunner()
        let hosted = try await HostedService.make(
            .generation, configuration: configuration, verifier: verifier, logger: logger,
            migrations: GenerationMigrations.all, directory: directory,
            services: { opened in
                let webhooks = ReplicateWebhooks(database: opened, secret: webhookSecret)
                let providers = try ProviderSet.make(configuration, settings: settings, pool: renderPool, inbox: webhooks)
                let runner = JobRunner(database: opened, peers: peers, providers: providers, results: ResultStore(store: store),
                                       settings: settings, pool: renderPool, webhooks: webhooks, costs: costs, logger: rpcLogger)
                made.runner.withLock { $0 = runner }
                return [GenerationRPC(database: opened, peers: peers, settings: settings, runner: runner, webhooks: webhooks, logger: rpcLogger)]
            })
        let server = hosted.server
        guard let runner = made.runner.withLock({ $0 }) else { throw ConfigurationError.invalid(key: "generation", value: "", expected: "a job runner") }
        // The workers start once the server listens: its migrations have made the tables.
        runner.startsAfter { _ = try await server.listeningPort() }
        let pools: [any Service] = [renderPool] + (storePool.map { [$0] } ?? [])
        return HostedService(name: .generation, database: hosted.database, server: hosted.server,
                             background: hosted.background + pools + [commerce, catalog, auth, runner])
    }
}

/// The runner the services closure made, handed back out of it.
private final class MadeRunner: Sendable {
    let runner = Mutex<JobRunner?>(nil)
}
