import AtelierProtos
import Foundation
import ServiceKit

/// Opening a wallet for a movement: the row lock that serialises one user's movements, the
/// signup grant on first use, expiry of grants and holds that are due, and the plan's free
/// allowances for the current day or month. Every movement and every read of a balance goes
/// through `open`, inside its transaction, so what it sees is settled and current.
struct Wallets: Sendable {
    let prices: PriceList
    let subscriptions: SubscriptionStore

    /// Locks the user's wallet row for the rest of the transaction, creating it (with the signup
    /// grants) the first time. Concurrent movements of one user queue here; other users' do not.
    func open(_ tx: any SQLExecutor, user: String, now: Date) async throws {
        let bumped = try await tx.query("UPDATE wallets SET version = version + 1 WHERE user_id = $1 RETURNING version", .text(user))
        if bumped.isEmpty {
            guard try await !Self.isClosed(tx, user: user) else {
                throw ServiceError(.failedPrecondition, reason: "ACCOUNT_CLOSED", "this account was deleted")
            }
            let created = try await tx.query(
                "INSERT INTO wallets (user_id, version, created_at) VALUES ($1, 0, $2) ON CONFLICT (user_id) DO NOTHING RETURNING user_id",
                .text(user), .time(now))
            if created.isEmpty {
                // Another transaction created it first; take the lock now that it exists.
                try await tx.query("UPDATE wallets SET version = version + 1 WHERE user_id = $1", .text(user))
            } else {
                for grant in prices.document.signupGrants {
                    _ = try await Ledger.addGrant(tx, user: user, asset: grant.asset, amount: grant.amount, source: "signup",
                                                  reference: "signup", expiresAt: nil, now: now)
                }
            }
        }
        try await expireDue(tx, user: user, now: now)
        try await grantAllowances(tx, user: user, now: now)
    }

    /// Whether the account was deleted (`PurgeUser`): its wallet is gone and stays gone.
    static func isClosed(_ db: any SQLExecutor, user: String) async throws -> Bool {
        try await db.first("SELECT user_id FROM closed_accounts WHERE user_id = $1", .text(user)) != nil
    }

    /// Holds past their expiry go back to their grants; grants past theirs lose what is left.
    /// Holds first, so that credits a hold returns to an expired grant expire with it.
    func expireDue(_ tx: any SQLExecutor, user: String, now: Date) async throws {
        let holds = try await tx.query(
            "SELECT id FROM holds WHERE user_id = $1 AND status = 'held' AND expires_at <= $2", .text(user), .time(now))
        for hold in holds {
            try await Ledger.returnHold(tx, user: user, holdID: try hold.string("id"), status: "expired", now: now)
        }
        let grants = try await tx.query(
            """
            SELECT id, asset, remaining, source, reference FROM grants
            WHERE user_id = $1 AND remaining > 0 AND expires_at IS NOT NULL AND expires_at <= $2
            """, .text(user), .time(now))
        for grant in grants {
            let id = try grant.string("id")
            let remaining = try grant.int("remaining")
            try await tx.query("UPDATE grants SET remaining = 0 WHERE id = $1", .text(id))
            try await LedgerEntries.append(tx, user: user, asset: try grant.string("asset"), amount: -remaining, kind: .expire,
                                           source: try grant.string("source"), grantID: id, holdID: nil,
                                           reference: try grant.optionalString("reference"), now: now)
        }
    }

    /// The plan's allowances that renew by the calendar ("3 a day", "10 stories a month"),
    /// granted once per day or month on first use and expiring when it ends. A paid plan's
    /// per-period allowances come with its invoices instead.
    func grantAllowances(_ tx: any SQLExecutor, user: String, now: Date) async throws {
        let plan = try await subscriptions.effectivePlan(tx, user: user, now: now)
        for allowance in plan.allowances where allowance.per != "period" {
            let period = CalendarPeriod(allowance.per == "day" ? .day : .month, containing: now)
            let reference = "\(plan.id):\(allowance.asset):\(period.key)"
            let existing = try await tx.query(
                "SELECT id FROM grants WHERE user_id = $1 AND reference = $2", .text(user), .text(reference))
            guard existing.isEmpty else { continue }
            _ = try await Ledger.addGrant(tx, user: user, asset: allowance.asset, amount: allowance.amount,
                                          source: allowance.per == "day" ? "daily" : "monthly",
                                          reference: reference, expiresAt: period.end, now: now)
        }
    }

    /// Available, held and soonest-expiring amounts per asset, as of `now`.
    func balances(_ tx: any SQLExecutor, user: String, now: Date, asset: String? = nil) async throws -> [Atelier_Commerce_V1_AssetBalance] {
        let filter = asset == nil ? "" : " AND asset = $3"
        var binds: [SQLValue] = [.text(user), .time(now)]
        if let asset { binds.append(.text(asset)) }
        let grants = try await tx.query(
            """
            SELECT asset, remaining, expires_at FROM grants
            WHERE user_id = $1 AND remaining > 0 AND (expires_at IS NULL OR expires_at > $2)\(filter)
            """, binds)
        let holds = try await tx.query(
            "SELECT asset, amount FROM holds WHERE user_id = $1 AND status = 'held' AND expires_at > $2\(filter)", binds)
        var byAsset: [String: Atelier_Commerce_V1_AssetBalance] = [:]
        func entry(_ asset: String) -> Atelier_Commerce_V1_AssetBalance {
            byAsset[asset] ?? .with { $0.asset = asset }
        }
        for row in grants {
            let asset = try row.string("asset")
            var balance = entry(asset)
            let remaining = try row.int("remaining")
            balance.available += remaining
            if let expiry = try row.optionalDate("expires_at") {
                if !balance.hasNextExpiry || expiry < balance.nextExpiry.date {
                    balance.nextExpiry = .init(date: expiry)
                    balance.expiringAmount = remaining
                } else if expiry == balance.nextExpiry.date {
                    balance.expiringAmount += remaining
                }
            }
            byAsset[asset] = balance
        }
        for row in holds {
            let asset = try row.string("asset")
            var balance = entry(asset)
            balance.held += try row.int("amount")
            byAsset[asset] = balance
        }
        if let asset, byAsset[asset] == nil { byAsset[asset] = entry(asset) }
        if asset == nil, byAsset["credits"] == nil { byAsset["credits"] = entry("credits") }
        return byAsset.values.sorted { $0.asset < $1.asset }
    }
}

/// A UTC calendar day or month: the span a calendar allowance lasts.
struct CalendarPeriod {
    enum Unit { case day, month }
    let start: Date
    let end: Date
    let key: String

    init(_ unit: Unit, containing date: Date) {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!  // '!' is fine: UTC always exists.
        let parts = calendar.dateComponents([.year, .month, .day], from: date)
        let year = parts.year ?? 1970, month = parts.month ?? 1, day = parts.day ?? 1
        switch unit {
        case .day:
            start = calendar.date(from: DateComponents(year: year, month: month, day: day)) ?? date
            end = calendar.date(byAdding: .day, value: 1, to: start) ?? date
            key = String(format: "%04d-%02d-%02d", year, month, day)
        case .month:
            start = calendar.date(from: DateComponents(year: year, month: month, day: 1)) ?? date
            end = calendar.date(byAdding: .month, value: 1, to: start) ?? date
            key = String(format: "%04d-%02d", year, month)
        }
    }
}
