import Foundation
import Logging
import ServiceKit

/// Releases holds whose jobs never settled or released them (a crashed worker), so credits do
/// not stay reserved until the user's next movement happens to expire them.
struct HoldSweeper: Sendable {
    let database: any Database
    let wallets: Wallets
    let logger: Logger
    /// Wallets per pass; the next pass takes the rest.
    var batch = 500

    func run() async {
        do {
            let now = Date.databaseNow
            let users = try await database.query(
                "SELECT DISTINCT user_id FROM holds WHERE status = 'held' AND expires_at <= $1 LIMIT $2", .time(now), .int(Int64(batch)))
            for row in users {
                let user = try row.string("user_id")
                try await database.transaction { tx in try await wallets.open(tx, user: user, now: Date.databaseNow) }
            }
            if !users.isEmpty { logger.info("expired holds released", metadata: ["wallets": "\(users.count)"]) }
        } catch {
            logger.error("hold sweep failed", metadata: ["error": "\(error)"])
        }
    }
}
