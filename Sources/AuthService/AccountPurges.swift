import Foundation
import ServiceKit

/// Deleted accounts whose data other services may still hold. Auth deletes an account and
/// records it here in one transaction; the edge purges the other services and then completes
/// the record. A record stays until then, so a purge cut short by an outage or a crash is
/// picked up again by the edge's sweep (`ClaimAccountPurges`) instead of being forgotten.
struct AccountPurges: Sendable {
    struct Due: Sendable {
        let userID: String
        let deletedAt: Date
        let attempts: Int
    }

    static let longestPause: TimeInterval = 3600

    let database: any Database

    /// Records a deleted account, due at once.
    func record(userID: String, now: Date, on tx: any SQLExecutor) async throws {
        try await tx.query("""
            INSERT INTO account_purges (user_id, deleted_at, attempts, next_attempt_at) VALUES (\(userID), \(now), 0, \(now))
            ON CONFLICT (user_id) DO NOTHING
            """)
    }

    /// Up to `limit` accounts due now, longest-waiting first, each pushed back by `pause`
    /// doubled per earlier claim (at most an hour) so a failing purge does not crowd out the rest.
    /// On PostgreSQL rows another sweeper is claiming are skipped rather than waited for.
    func claim(limit: Int, pause: TimeInterval, now: Date) async throws -> [Due] {
        try await database.transaction { tx in
            let skipLocked = SQL.dialect(postgres: " FOR UPDATE SKIP LOCKED", sqlite: "")
            let rows = try await tx.query("""
                SELECT user_id, deleted_at, attempts FROM account_purges WHERE next_attempt_at <= \(now)
                ORDER BY next_attempt_at, user_id LIMIT \(limit)\(skipLocked)
                """)
            var due: [Due] = []
            for row in rows {
                let claimed = Due(userID: try row.string("user_id"), deletedAt: try row.date("deleted_at"),
                                  attempts: Int(try row.int("attempts")))
                let next = now.addingTimeInterval(Self.pause(pause, attempts: claimed.attempts))
                try await tx.query("UPDATE account_purges SET attempts = attempts + 1, next_attempt_at = \(next) WHERE user_id = \(claimed.userID)")
                due.append(claimed)
            }
            return due
        }
    }

    /// The account's data is gone everywhere. Completing an unknown or completed account is fine.
    func complete(userID: String) async throws {
        try await database.query("DELETE FROM account_purges WHERE user_id = \(userID)")
    }

    static func pause(_ base: TimeInterval, attempts: Int) -> TimeInterval {
        min(base * pow(2, Double(min(attempts, 20))), longestPause)
    }
}
