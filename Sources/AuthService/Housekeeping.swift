import Foundation
import Logging
import ServiceKit

/// Removes what can no longer be used: sessions expired for a day, one-time tokens a day past
/// their use or expiry, login-throttle rows whose window and lockout have passed, and delivered
/// mail older than a week. AuthServer runs it every `auth.housekeeping-minutes` (60).
struct Housekeeping: Sendable {
    let database: any Database
    let throttleWindow: TimeInterval
    let logger: Logger

    /// One pass, logged; for `PeriodicWork`.
    func run() async {
        do {
            let removed = try await sweep(now: Date.databaseNow)
            if removed > 0 { logger.info("housekeeping removed stale rows", metadata: ["rows": "\(removed)"]) }
        } catch {
            logger.warning("housekeeping failed", metadata: ["error": "\(error)"])
        }
    }

    /// One pass; returns how many rows went.
    @discardableResult
    func sweep(now: Date) async throws -> Int {
        let dayAgo = now.addingTimeInterval(-86_400)
        var removed = 0
        removed += try await database.query(
            "DELETE FROM sessions WHERE expires_at < \(dayAgo) RETURNING id").count
        removed += try await database.query(
            "DELETE FROM one_time_tokens WHERE COALESCE(used_at, expires_at) < \(dayAgo) RETURNING token_hash").count
        removed += try await database.query("""
            DELETE FROM login_throttle WHERE window_started_at < \(now.addingTimeInterval(-throttleWindow)) AND (locked_until IS NULL OR locked_until < \(now))
            RETURNING throttle_key
            """).count
        removed += try await database.query(
            "DELETE FROM mail_outbox WHERE sent_at IS NOT NULL AND sent_at < \(now.addingTimeInterval(-7 * 86_400)) RETURNING id").count
        return removed
    }
}
