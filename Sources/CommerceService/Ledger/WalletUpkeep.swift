import AtelierProtos
import Foundation
import ServiceKit

/// The work a wallet needs now and then rather than on every movement: creating it with the
/// signup grants, expiring holds and grants that are due, and granting the plan's calendar
/// allowances once per day or month. The wallet row keeps when that is next needed
/// (`next_expiry`: the soonest expiry of a grant with something left; `allowances_until`: when
/// the granted allowances stop being the current ones), so a movement sees in the row it locks
/// whether to come here first (`WalletState.read`), and the hot path reads nothing more.
struct WalletUpkeep: Sendable {
    let prices: PriceList
    let subscriptions: SubscriptionStore

    /// Thrown by a movement that found upkeep due; the ledger runs `open` and tries again.
    struct Due: Error {}

    /// Locks the user's wallet for the rest of the transaction, creating it (with the signup
    /// grants) the first time, and brings it up to date: due holds and grants expire, the
    /// calendar allowances of the current day and month are granted. Movements of one user
    /// queue on this lock; other users' do not.
    func open(_ tx: any SQLExecutor, user: String, now: Date) async throws {
        guard let wallet = try await lock(tx, user: user, now: now) else { return }
        let expiredHolds = try await tx.query("""
            SELECT id, job_id FROM holds WHERE user_id = \(user) AND status = 'held' AND expires_at <= \(now)
            """)
        for hold in expiredHolds {
            try await Self.returnHold(tx, user: user, holdID: try hold.string("id"), jobID: try hold.string("job_id"),
                                      status: "expired", now: now)
        }
        let nextExpiry = try wallet.optionalDate("next_expiry")
        if !expiredHolds.isEmpty || nextExpiry.map({ $0 <= now }) == true { try await Self.expireGrants(tx, user: user, now: now) }
        let until = try wallet.optionalDate("allowances_until")
        let allowancesUntil = until.map { $0 > now } == true ? until : try await grantAllowances(tx, user: user, now: now)
        try await tx.query("""
            UPDATE wallets SET allowances_until = \(allowancesUntil),
                   next_expiry = (SELECT MIN(expires_at) FROM grants WHERE user_id = \(user) AND remaining > 0 AND expires_at IS NOT NULL)
            WHERE user_id = \(user)
            """)
    }

    /// The wallet row, locked; a new wallet is created with the signup grants (nil fields:
    /// everything is due). A closed account's wallet is never opened again.
    private func lock(_ tx: any SQLExecutor, user: String, now: Date) async throws -> SQLRow? {
        if let row = try await tx.first("UPDATE wallets SET version = version + 1 WHERE user_id = \(user) RETURNING next_expiry, allowances_until") {
            return row
        }
        guard try await !Self.isClosed(tx, user: user) else {
            throw ServiceError(.failedPrecondition, reason: "ACCOUNT_CLOSED", "this account was deleted")
        }
        let created = try await tx.query("""
            INSERT INTO wallets (user_id, version, created_at) VALUES (\(user), 0, \(now)) ON CONFLICT (user_id) DO NOTHING RETURNING user_id
            """)
        if created.isEmpty {
            // Another transaction created it first; take the lock now that it exists.
            return try await tx.first("UPDATE wallets SET version = version + 1 WHERE user_id = \(user) RETURNING next_expiry, allowances_until")
        }
        for grant in prices.document.signupGrants {
            _ = try await Self.addGrant(tx, user: user, asset: grant.asset, amount: grant.amount, source: "signup",
                                        reference: "signup", expiresAt: nil, now: now)
        }
        return try await tx.first("SELECT next_expiry, allowances_until FROM wallets WHERE user_id = \(user)")
    }

    /// Whether the account was deleted (`PurgeUser`): its wallet is gone and stays gone.
    static func isClosed(_ db: any SQLExecutor, user: String) async throws -> Bool {
        try await db.first("SELECT user_id FROM closed_accounts WHERE user_id = \(user)") != nil
    }

    /// Grants past their expiry lose what is left, each with an `expire` entry.
    private static func expireGrants(_ tx: any SQLExecutor, user: String, now: Date) async throws {
        let due = try await tx.query("""
            SELECT id, asset, remaining, source, reference FROM grants
            WHERE user_id = \(user) AND remaining > 0 AND expires_at IS NOT NULL AND expires_at <= \(now)
            """)
        guard !due.isEmpty else { return }
        let ids = try due.map { try $0.string("id") }
        try await tx.query("UPDATE grants SET remaining = 0 WHERE id IN (\(list: ids.map { .text($0) }))")
        try await LedgerEntries.append(tx, user: user, try due.map { grant in
            .init(asset: try grant.string("asset"), amount: -(try grant.int("remaining")), kind: .expire, source: try grant.string("source"),
                  grantID: try grant.string("id"), reference: try grant.optionalString("reference"))
        }, now: now)
    }

    /// A calendar allowance of the current day or month that has not been granted yet.
    struct DueAllowance {
        let asset: String
        let amount: Int64
        let source: String
        let reference: String
        let expiresAt: Date

        var grant: WalletView.Grant {
            WalletView.Grant(asset: asset, amount: amount, remaining: amount, source: source, expiresAt: expiresAt)
        }
    }

    /// The plan's allowances that renew by the calendar ("3 a day", "10 stories a month") and are
    /// not yet granted for the current day or month (a paid plan's per-period allowances come
    /// with its invoices instead), and until when the current ones last: the end of the shortest
    /// period, or of the paid period when the plan may change then.
    func allowancesDue(_ db: any SQLExecutor, user: String, now: Date) async throws -> (due: [DueAllowance], until: Date) {
        let subscription = try await subscriptions.find(db, user: user)
        let plan = subscriptions.plan(of: subscription, at: now)
        var until: [Date] = []
        if plan.id != PriceList.freePlanID, let end = subscription?.periodEnd { until.append(end) }
        var due: [DueAllowance] = []
        for allowance in plan.allowances where allowance.per != "period" {
            let period = CalendarPeriod(allowance.per == "day" ? .day : .month, containing: now)
            until.append(period.end)
            due.append(DueAllowance(asset: allowance.asset, amount: allowance.amount, source: allowance.per == "day" ? "daily" : "monthly",
                                    reference: "\(plan.id):\(allowance.asset):\(period.key)", expiresAt: period.end))
        }
        if !due.isEmpty {
            let granted = Set(try await db.query("""
                SELECT reference FROM grants WHERE user_id = \(user) AND reference IN (\(list: due.map { .text($0.reference) }))
                """).map { try $0.string("reference") })
            due.removeAll { granted.contains($0.reference) }
        }
        // A plan without calendar allowances is looked at again the next day at the latest.
        return (due, until.min() ?? CalendarPeriod(.day, containing: now).end)
    }

    /// Grants the due calendar allowances; returns until when they are the current ones.
    private func grantAllowances(_ tx: any SQLExecutor, user: String, now: Date) async throws -> Date {
        let (due, until) = try await allowancesDue(tx, user: user, now: now)
        for allowance in due {
            _ = try await Self.addGrant(tx, user: user, asset: allowance.asset, amount: allowance.amount, source: allowance.source,
                                        reference: allowance.reference, expiresAt: allowance.expiresAt, now: now)
        }
        return until
    }

    /// Adds a grant and its ledger entry, and keeps the wallet's next expiry; returns the grant's id.
    static func addGrant(_ tx: any SQLExecutor, user: String, asset: String, amount: Int64, source: String,
                         reference: String?, expiresAt: Date?, now: Date) async throws -> String {
        let id = SecureRandom.id(prefix: "gr")
        try await tx.query("""
            INSERT INTO grants (id, user_id, asset, amount, remaining, source, reference, expires_at, created_at)
            VALUES (\(id), \(user), \(asset), \(amount), \(amount), \(source), \(reference), \(expiresAt), \(now))
            """)
        try await LedgerEntries.append(tx, user: user, [.init(asset: asset, amount: amount, kind: .grant, source: source,
                                                              grantID: id, reference: reference)], now: now)
        if let expiresAt { try await keepSooner(tx, user: user, expiry: expiresAt) }
        return id
    }

    /// Adds a grant once per reference (an invoice, a checkout); returns whether it was new.
    @discardableResult
    static func addGrantOnce(_ tx: any SQLExecutor, user: String, asset: String, amount: Int64, source: String,
                             reference: String, expiresAt: Date?, now: Date) async throws -> Bool {
        guard try await tx.first("SELECT id FROM grants WHERE user_id = \(user) AND reference = \(reference)") == nil else { return false }
        _ = try await addGrant(tx, user: user, asset: asset, amount: amount, source: source, reference: reference,
                               expiresAt: expiresAt, now: now)
        return true
    }

    /// The wallet's next expiry becomes `expiry` when that is sooner.
    static func keepSooner(_ tx: any SQLExecutor, user: String, expiry: Date) async throws {
        try await tx.query("""
            UPDATE wallets SET next_expiry = \(expiry) WHERE user_id = \(user) AND (next_expiry IS NULL OR next_expiry > \(expiry))
            """)
    }

    /// The plan may have changed (a subscription began, changed or ended): the allowances are
    /// looked at again at the wallet's next movement.
    static func planChanged(_ tx: any SQLExecutor, user: String) async throws {
        try await tx.query("UPDATE wallets SET allowances_until = NULL WHERE user_id = \(user)")
    }

    /// Gives a hold's credits back to the grants it drew from (its `hold` entries say which) and
    /// marks it released or expired. Credits returned to a grant that has expired meanwhile
    /// expire at once, so they are not spendable past the grant's end.
    static func returnHold(_ tx: any SQLExecutor, user: String, holdID: String, jobID: String, status: String, now: Date) async throws {
        let parts = try await tx.query("""
            SELECT e.grant_id, -e.amount AS amount, e.asset, e.source, g.expires_at FROM ledger_entries e
            JOIN grants g ON g.id = e.grant_id WHERE e.hold_id = \(holdID) AND e.kind = 'hold'
            """)
        var entries: [LedgerEntries.Entry] = []
        var returned: [(grant: String, amount: Int64)] = []
        var soonest: Date?
        for part in parts {
            let grant = try part.string("grant_id")
            let amount = try part.int("amount")
            let asset = try part.string("asset")
            let source = try part.string("source")
            let reference = jobID.isEmpty ? nil : jobID
            entries.append(.init(asset: asset, amount: amount, kind: .release, source: source, grantID: grant, holdID: holdID, reference: reference))
            if let expiry = try part.optionalDate("expires_at"), expiry <= now {
                entries.append(.init(asset: asset, amount: -amount, kind: .expire, source: source, grantID: grant, holdID: holdID, reference: reference))
            } else {
                returned.append((grant, amount))
                if let expiry = try part.optionalDate("expires_at") { soonest = min(soonest ?? expiry, expiry) }
            }
        }
        if !returned.isEmpty {
            try await tx.query("""
                UPDATE grants SET remaining = remaining + CASE id \(SQL.join(returned.map { "WHEN \($0.grant) THEN \($0.amount)" }, separator: " ")) END
                WHERE id IN (\(list: returned.map { .text($0.grant) }))
                """)
        }
        try await LedgerEntries.append(tx, user: user, entries, now: now)
        try await tx.query("UPDATE holds SET status = \(status), finished_at = \(now) WHERE id = \(holdID)")
        if let soonest { try await keepSooner(tx, user: user, expiry: soonest) }
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
