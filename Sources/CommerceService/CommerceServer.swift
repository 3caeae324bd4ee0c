import Foundation
import Logging
import ServiceKit
import ServiceLifecycle

/// Builds the commerce service from configuration.
public enum CommerceServer {
    public static func make(configuration: Configuration, verifier: PrincipalVerifier, logger: Logger,
                            directory: ServiceDirectory? = nil, clock: ServiceClock = .system) async throws -> HostedService {
        let settings = try CommerceSettings(configuration)
        let prices = try PriceList.load(path: settings.priceListPath)
        let rpcLogger = Logger(label: "atelier.commerce")
        let hosted = try await HostedService.make(
            .commerce, configuration: configuration, verifier: verifier, logger: logger,
            migrations: CommerceMigrations.all, directory: directory,
            services: { database in
                [CommerceRPC(database: database, settings: settings, prices: prices, clock: clock, logger: rpcLogger)]
            })
        let server = hosted.server
        let sweeper = WalletSweeper(database: hosted.database, upkeep: WalletUpkeep(prices: prices, subscriptions: SubscriptionStore(prices: prices)),
                                    clock: clock, logger: rpcLogger)
        let sweep = PeriodicWork(every: settings.holdSweepInterval, after: { _ = try await server.listeningPort() }) {
            await sweeper.run()
        }
        return HostedService(name: .commerce, database: hosted.database, server: hosted.server, background: hosted.background + [sweep])
    }
}
