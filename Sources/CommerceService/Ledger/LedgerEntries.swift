import AtelierProtos
import Foundation
import ServiceKit

/// The append-only record of every change to a wallet's balances. Rows are only ever inserted.
struct LedgerEntries: Sendable {
    enum Kind: String {
        case grant, hold, settle, release, expire
    }

    static func append(_ tx: any SQLExecutor, user: String, asset: String, amount: Int64, kind: Kind, source: String,
                       grantID: String?, holdID: String?, reference: String?, now: Date) async throws {
        try await tx.query(
            """
            INSERT INTO ledger_entries (id, user_id, asset, amount, kind, source, grant_id, hold_id, reference, created_at)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
            """,
            .text(SecureRandom.id(prefix: "le")), .text(user), .text(asset), .int(amount), .text(kind.rawValue), .text(source),
            .optional(grantID), .optional(holdID), .optional(reference), .time(now))
    }

    /// One page of a user's entries, newest first, optionally of one asset.
    static func page(_ db: any SQLExecutor, user: String, asset: String?, limit: Int, offset: Int)
        async throws -> (entries: [Atelier_Commerce_V1_LedgerEntry], total: Int)
    {
        let filter = asset == nil ? "" : " AND asset = $2"
        var binds: [SQLValue] = [.text(user)]
        if let asset { binds.append(.text(asset)) }
        let count = try await db.query("SELECT COUNT(*) AS n FROM ledger_entries WHERE user_id = $1\(filter)", binds)
        let n = binds.count
        let rows = try await db.query(
            """
            SELECT id, asset, amount, kind, source, grant_id, hold_id, reference, created_at FROM ledger_entries
            WHERE user_id = $1\(filter) ORDER BY created_at DESC, id DESC LIMIT $\(n + 1) OFFSET $\(n + 2)
            """, binds + [.int(Int64(limit)), .int(Int64(offset))])
        let entries = try rows.map { row in
            try Atelier_Commerce_V1_LedgerEntry.with {
                $0.id = try row.string("id")
                $0.asset = try row.string("asset")
                $0.amount = try row.int("amount")
                $0.kind = try row.string("kind")
                $0.source = try row.string("source")
                $0.grantID = try row.optionalString("grant_id") ?? ""
                $0.holdID = try row.optionalString("hold_id") ?? ""
                $0.reference = try row.optionalString("reference") ?? ""
                $0.createdAt = .init(date: try row.date("created_at"))
            }
        }
        return (entries, Int(try count.first?.int("n") ?? 0))
    }
}
