import AtelierProtos
import Foundation
import ServiceKit

typealias AssetBalance = Atelier_Commerce_V1_AssetBalance

/// One asset's balance as the ledger's replies state it: what unexpired grants have left, what
/// live holds reserve, and the soonest expiry with how much expires then.
enum AssetBalances {
    /// The balance's four columns (`available`, `held`, `next_expiry`, `expiring`) as subqueries
    /// over `user` and `asset`, so a statement can return them beside its own result (a settle's
    /// RETURNING) instead of a second round trip. `excludingHold` leaves one hold out of `held`.
    /// `excludingHolds` leaves those holds out (a batch of settles states the balance after all of them).
    static func columns(user: SQL, asset: SQL, now: Date, excludingHold: SQL? = nil, excludingHolds: [String] = []) -> SQL {
        let spendable: SQL = "g.user_id = \(user) AND g.asset = \(asset) AND g.remaining > 0 AND (g.expires_at IS NULL OR g.expires_at > \(now))"
        var other: SQL = excludingHold.map { " AND o.id <> \($0)" } ?? ""
        if !excludingHolds.isEmpty { other = other + " AND o.id NOT IN (\(list: excludingHolds.map { .text($0) }))" }
        let soonest: SQL = "SELECT MIN(g.expires_at) FROM grants g WHERE \(spendable) AND g.expires_at IS NOT NULL"
        return """
            (SELECT COALESCE(SUM(g.remaining), 0) FROM grants g WHERE \(spendable)) AS available,
            (SELECT COALESCE(SUM(o.amount), 0) FROM holds o WHERE o.user_id = \(user) AND o.asset = \(asset) AND o.status = 'held'
                AND o.expires_at > \(now)\(other)) AS held,
            (\(soonest)) AS next_expiry,
            (SELECT COALESCE(SUM(g.remaining), 0) FROM grants g WHERE \(spendable) AND g.expires_at = (\(soonest))) AS expiring
            """
    }

    static func read(_ row: SQLRow, asset: String) throws -> AssetBalance {
        var balance = AssetBalance()
        balance.asset = asset
        balance.available = try row.int("available")
        balance.held = try row.int("held")
        if let expiry = try row.optionalDate("next_expiry") {
            balance.nextExpiry = .init(date: expiry)
            balance.expiringAmount = try row.int("expiring")
        }
        return balance
    }

    /// One asset's balance by itself.
    static func of(_ db: any SQLExecutor, user: String, asset: String, now: Date) async throws -> AssetBalance {
        guard let row = try await db.first("SELECT \(columns(user: "\(user)", asset: "\(asset)", now: now))") else {
            return .with { $0.asset = asset }
        }
        return try read(row, asset: asset)
    }

    /// The balance of grants read into memory: the sum of what they have left and the soonest
    /// expiry among them.
    static func of(_ grants: [GrantRow], asset: String, held: Int64) -> AssetBalance {
        var balance = AssetBalance()
        balance.asset = asset
        balance.held = held
        for grant in grants where grant.remaining > 0 {
            balance.available += grant.remaining
            guard let expiry = grant.expiresAt else { continue }
            if !balance.hasNextExpiry || expiry < balance.nextExpiry.date {
                balance.nextExpiry = .init(date: expiry)
                balance.expiringAmount = grant.remaining
            } else if expiry == balance.nextExpiry.date {
                balance.expiringAmount += grant.remaining
            }
        }
        return balance
    }
}

/// A grant as a balance reads it: what it is of, what it had and has left, where it came from,
/// and when it ends.
struct GrantRow: Sendable {
    var id = ""
    let asset: String
    var amount: Int64 = 0
    var remaining: Int64
    let source: String
    let expiresAt: Date?
}
