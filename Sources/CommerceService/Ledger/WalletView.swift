import AtelierProtos
import Foundation
import ServiceKit

/// A wallet as of now, read without a lock and without writing anything: what upkeep would do at
/// the wallet's next movement (a new wallet's signup grants, expired holds and grants, today's
/// allowances) is applied to the figures only, so a read never waits on a movement and never
/// changes what it reads. The ledger records those changes at the next movement or sweep.
struct WalletView {
    typealias Grant = GrantRow

    /// Unexpired grants: those with something left, and those that expire later (spent or not).
    var grants: [Grant] = []
    /// Held by live holds, per asset.
    var held: [String: Int64] = [:]

    static func read(_ db: any SQLExecutor, user: String, now: Date, upkeep: WalletUpkeep) async throws -> WalletView {
        var view = WalletView()
        guard let wallet = try await db.first("SELECT allowances_until FROM wallets WHERE user_id = \(user)") else {
            guard try await !WalletUpkeep.isClosed(db, user: user) else {
                throw ServiceError(.failedPrecondition, reason: "ACCOUNT_CLOSED", "this account was deleted")
            }
            view.grants = upkeep.prices.document.signupGrants.map {
                Grant(asset: $0.asset, amount: $0.amount, remaining: $0.amount, source: "signup", expiresAt: nil)
            }
            view.grants += try await upkeep.allowancesDue(db, user: user, now: now).due.map(\.grant)
            return view
        }
        for row in try await db.query("""
            SELECT asset, amount, remaining, source, expires_at FROM grants WHERE user_id = \(user)
            AND ((expires_at IS NULL AND remaining > 0) OR expires_at > \(now))
            """) {
            view.grants.append(Grant(asset: try row.string("asset"), amount: try row.int("amount"), remaining: try row.int("remaining"),
                                     source: try row.string("source"), expiresAt: try row.optionalDate("expires_at")))
        }
        var lapsed: [String] = []
        for row in try await db.query("SELECT id, asset, amount, expires_at FROM holds WHERE user_id = \(user) AND status = 'held'") {
            if try row.date("expires_at") > now {
                view.held[try row.string("asset"), default: 0] += try row.int("amount")
            } else {
                lapsed.append(try row.string("id"))
            }
        }
        // What lapsed holds took goes back to its grants, where those have not expired.
        if !lapsed.isEmpty {
            for part in try await db.query("""
                SELECT e.asset, -e.amount AS amount, e.source, g.expires_at FROM ledger_entries e JOIN grants g ON g.id = e.grant_id
                WHERE e.hold_id IN (\(list: lapsed.map { .text($0) })) AND e.kind = 'hold'
                """) {
                let expiresAt = try part.optionalDate("expires_at")
                guard expiresAt.map({ $0 > now }) ?? true else { continue }
                view.grants.append(Grant(asset: try part.string("asset"), amount: 0, remaining: try part.int("amount"),
                                         source: try part.string("source"), expiresAt: expiresAt))
            }
        }
        if try wallet.optionalDate("allowances_until").map({ $0 > now }) != true {
            view.grants += try await upkeep.allowancesDue(db, user: user, now: now).due.map(\.grant)
        }
        return view
    }

    /// Every asset's balance, `credits` always among them.
    var balances: [AssetBalance] {
        var assets = Set(grants.map(\.asset)).union(held.keys)
        assets.insert("credits")
        return assets.sorted().map { asset in
            AssetBalances.of(grants.filter { $0.asset == asset }, asset: asset, held: held[asset] ?? 0)
        }
    }
}
