import Foundation
import ServiceKit

/// What a hold needs of a wallet, read in one statement: the spendable grants of the assets the
/// hold may draw from, in the order it draws them (soonest expiry first, never-expiring last),
/// each locked for the rest of the transaction, what is held of each asset, and the wallet's
/// upkeep times. Concurrent holds of one wallet queue on the grant rows they draw from, and
/// PostgreSQL hands each waiter the rows as the one before left them, so none takes what is
/// already taken. The same row says whether upkeep is due (`WalletUpkeep`); then the movement
/// steps aside for it and comes back.
struct WalletState {
    typealias Grant = GrantRow

    var grants: [Grant]
    var held: [String: Int64]

    /// - Throws: `WalletUpkeep.Due` when the wallet is new, something in it has expired, or the
    ///   calendar allowances are not the current ones.
    static func read(_ tx: any SQLExecutor, user: String, assets: [String], now: Date) async throws -> WalletState {
        let upkeep: SQL = """
            w.next_expiry, w.allowances_until,
            (SELECT MIN(h.expires_at) FROM holds h WHERE h.user_id = w.user_id AND h.status = 'held') AS next_hold_expiry
            """
        var rows = try await tx.query("""
            SELECT g.id, g.asset, g.remaining, g.source, g.expires_at, \(upkeep),
                   (SELECT COALESCE(SUM(h.amount), 0) FROM holds h
                    WHERE h.user_id = g.user_id AND h.status = 'held' AND h.asset = g.asset) AS held
            FROM grants g JOIN wallets w ON w.user_id = g.user_id
            WHERE g.user_id = \(user) AND g.asset IN (\(list: assets.map { .text($0) }))
                  AND g.remaining > 0 AND (g.expires_at IS NULL OR g.expires_at > \(now))
            ORDER BY g.expires_at IS NULL, g.expires_at, g.created_at, g.id\(SQL.forUpdate(of: "g"))
            """)
        if rows.isEmpty {
            // Nothing to draw from: the wallet alone says whether upkeep would change that.
            rows = try await tx.query("SELECT \(upkeep) FROM wallets w WHERE w.user_id = \(user)")
        }
        guard let wallet = rows.first else { throw WalletUpkeep.Due() }
        let due = [try wallet.optionalDate("next_expiry"), try wallet.optionalDate("next_hold_expiry")].contains { $0.map { $0 <= now } == true }
        guard !due, let until = try wallet.optionalDate("allowances_until"), until > now else { throw WalletUpkeep.Due() }
        var state = WalletState(grants: [], held: [:])
        for row in rows where row.columns.names.contains("id") {
            let asset = try row.string("asset")
            state.grants.append(Grant(id: try row.string("id"), asset: asset, remaining: try row.int("remaining"),
                                      source: try row.string("source"), expiresAt: try row.optionalDate("expires_at")))
            state.held[asset] = try row.int("held")
        }
        return state
    }

    /// The first of `candidates` the grants can cover, and how much it takes from each grant.
    func draw(_ candidates: [(asset: String, amount: Int64)]) -> (asset: String, amount: Int64, parts: [(grant: Grant, take: Int64)])? {
        for candidate in candidates {
            let grants = self.grants.filter { $0.asset == candidate.asset }
            guard grants.reduce(0, { $0 + $1.remaining }) >= candidate.amount else { continue }
            var needed = candidate.amount
            var parts: [(grant: Grant, take: Int64)] = []
            for grant in grants where needed > 0 {
                let take = min(needed, grant.remaining)
                needed -= take
                parts.append((grant, take))
            }
            return (candidate.asset, candidate.amount, parts)
        }
        return nil
    }

    /// Takes `draw` from the grants and holds it, for the next hold of the same batch to draw after it.
    mutating func take(_ draw: (asset: String, amount: Int64, parts: [(grant: Grant, take: Int64)])) {
        for part in draw.parts {
            if let index = grants.firstIndex(where: { $0.id == part.grant.id }) { grants[index].remaining -= part.take }
        }
        // A grant the draw emptied has nothing left to give the next one (as the read leaves it out).
        grants.removeAll { $0.remaining <= 0 }
        held[draw.asset, default: 0] += draw.amount
    }

    /// The asset's balance once `parts` are taken and held.
    func balance(after draw: (asset: String, amount: Int64, parts: [(grant: Grant, take: Int64)])) -> AssetBalance {
        let taken = Dictionary(draw.parts.map { ($0.grant.id, $0.take) }, uniquingKeysWith: +)
        let left = grants.filter { $0.asset == draw.asset }.map { grant in
            var left = grant
            left.remaining -= taken[grant.id] ?? 0
            return left
        }
        return AssetBalances.of(left, asset: draw.asset, held: (held[draw.asset] ?? 0) + draw.amount)
    }
}
