import Foundation
import Logging
import ServiceKit

/// Brings up to date the wallets that upkeep is due for but that no movement has touched: holds
/// whose jobs never settled or released them (a crashed worker) and grants past their expiry, so
/// the ledger records those changes within a sweep even for a wallet nobody uses.
struct WalletSweeper: Sendable {
    let database: any Database
    let upkeep: WalletUpkeep
    let clock: ServiceClock
    let logger: Logger
    /// Wallets per pass; the next pass takes the rest.
    var batch = 500

    func run() async {
        do {
            let swept = try await sweep()
            if swept > 0 { logger.info("expired holds and grants recorded", metadata: ["wallets": "\(swept)"]) }
        } catch is CancellationError {
            // Shutting down: the next start sweeps again.
        } catch {
            logger.error("wallet sweep failed", metadata: ["error": "\(error)"])
        }
    }

    /// One pass; returns how many wallets it brought up to date.
    @discardableResult
    func sweep() async throws -> Int {
        let now = clock.now()
        let users = try await database.query("""
            SELECT user_id FROM holds WHERE status = 'held' AND expires_at <= \(now)
            UNION SELECT user_id FROM wallets WHERE next_expiry <= \(now) LIMIT \(batch)
            """).map { try $0.string("user_id") }
        for user in users {
            try await database.transaction { tx in try await upkeep.open(tx, user: user, now: clock.now()) }
        }
        return users.count
    }
}
