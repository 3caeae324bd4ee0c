import Crypto
import Foundation
import ServiceKit

/// Slows password guessing against one account: after `maxFailures` failed attempts within
/// `window`, the address is locked for `lockout`, refused with 429 and a Retry-After even when the
/// password is right. It is keyed by the normalised address whether or not an account has it,
/// so a lockout says nothing about which addresses exist.
struct LoginThrottle: Sendable {
    let database: any Database
    let maxFailures: Int
    let window: TimeInterval
    let lockout: TimeInterval

    static func key(_ email: String) -> String {
        SHA256.hash(data: Array("login:\(email)".utf8)).hexString
    }

    /// Throws 429 while the address is locked.
    func checkAllowed(email: String, now: Date) async throws {
        guard let row = try await database.first(
            "SELECT locked_until FROM login_throttle WHERE email_key = $1", .text(Self.key(email))),
            let lockedUntil = try row.optionalDate("locked_until"), lockedUntil > now
        else { return }
        throw Self.lockedError(until: lockedUntil, now: now)
    }

    /// Counts a failure; the failure that reaches the limit starts the lockout. The count is one
    /// atomic upsert, so failures arriving at once are all counted.
    func recordFailure(email: String, now: Date) async throws {
        let key = Self.key(email)
        let windowStart = now.addingTimeInterval(-window)
        let rows = try await database.query("""
            INSERT INTO login_throttle (email_key, failures, window_started_at) VALUES ($1, 1, $2)
            ON CONFLICT (email_key) DO UPDATE SET
                failures = CASE WHEN login_throttle.window_started_at > $3 THEN login_throttle.failures + 1 ELSE 1 END,
                window_started_at = CASE WHEN login_throttle.window_started_at > $3 THEN login_throttle.window_started_at ELSE $2 END
            RETURNING failures
            """, .text(key), .time(now), .time(windowStart))
        guard let failures = try rows.first?.int("failures"), failures >= maxFailures else { return }
        // The lockout starts a fresh window, so the next failure after it ends counts from one.
        try await database.query(
            "UPDATE login_throttle SET locked_until = $2, failures = 0, window_started_at = $3 WHERE email_key = $1",
            .text(key), .time(now.addingTimeInterval(lockout)), .time(now))
    }

    func reset(email: String) async throws {
        try await database.query("DELETE FROM login_throttle WHERE email_key = $1", .text(Self.key(email)))
    }

    static func lockedError(until: Date, now: Date) -> ServiceError {
        let seconds = max(1, Int(until.timeIntervalSince(now).rounded(.up)))
        return ServiceError(
            .resourceExhausted, reason: "TOO_MANY_ATTEMPTS",
            "too many failed attempts; try again in \(seconds) seconds", retryAfterSeconds: seconds)
    }
}
