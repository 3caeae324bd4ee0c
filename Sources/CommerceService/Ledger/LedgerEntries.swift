import AtelierProtos
import Foundation
import ServiceKit

typealias LedgerEntry = Atelier_Commerce_V1_LedgerEntry

/// The append-only record of every change to a wallet's balances. Rows are only ever inserted:
/// per wallet and asset, the entries sum to what the grants have left (`grants.remaining`).
enum LedgerEntries {
    enum Kind: String {
        case grant, hold, settle, release, expire
    }

    /// One entry to append.
    struct Entry {
        let asset: String
        let amount: Int64
        let kind: Kind
        let source: String
        var grantID: String? = nil
        var holdID: String? = nil
        var reference: String? = nil
    }

    static let columns: [MessageColumn<LedgerEntry>] = [
        .text("id", \.id), .text("asset", \.asset), .int("amount", \.amount), .text("kind", \.kind), .text("source", \.source),
        .nullableText("grant_id", \.grantID), .nullableText("hold_id", \.holdID), .nullableText("reference", \.reference),
        .time("created_at", \.createdAt),
    ]

    /// Appends `entries` in one statement.
    static func append(_ tx: any SQLExecutor, user: String, _ entries: [Entry], now: Date) async throws {
        try await append(tx, entries.map { (user, $0) }, now: now)
    }

    /// Appends entries of several wallets in one statement (a batch of settles).
    static func append(_ tx: any SQLExecutor, _ entries: [(user: String, entry: Entry)], now: Date) async throws {
        guard !entries.isEmpty else { return }
        let rows: [[SQLValue]] = entries.map { user, entry in
            // Ids in the order the entries were made: entries of one transaction share their time.
            [.text(SecureRandom.orderedID(prefix: "le")), .text(user), .text(entry.asset), .int(entry.amount), .text(entry.kind.rawValue),
             .text(entry.source), .optional(entry.grantID), .optional(entry.holdID), .optional(entry.reference), .time(now)]
        }
        try await tx.query("""
            INSERT INTO ledger_entries (id, user_id, asset, amount, kind, source, grant_id, hold_id, reference, created_at)
            VALUES \(SQL.rows(rows))
            """)
    }

    /// One page of a user's entries, newest first, optionally of one asset.
    static func page(_ db: any SQLExecutor, user: String, asset: String?, page: Page,
                     after token: PageToken?) async throws -> (items: PageResult<LedgerEntry>, next: String) {
        let conditions: [SQL] = ["user_id = \(user)"] + (asset.map { ["asset = \($0)"] } ?? [])
        return try await db.newestFirst("SELECT \(columns.names()) FROM ledger_entries", countFrom: "ledger_entries", where: conditions,
                                        page: page, after: token, columns.read)
    }
}
