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

    /// Counts a failure; the failure that reaches the limit starts the lockout.
    func recordFailure(email: String, now: Date) async throws {
        let key = Self.key(email)
        let windowStart = now.addingTimeInterval(-window)
        try await database.transaction { tx in
            let row = try await tx.first(
                "SELECT failures, window_started_at FROM login_throttle WHERE email_key = $1", .text(key))
            var failures = 1
            var started = now
            if let row, try row.date("window_started_at") > windowStart {
                failures = Int(try row.int("failures")) + 1
                started = try row.date("window_started_at")
            }
            let lockedUntil: SQLValue = failures >= maxFailures ? .time(now.addingTimeInterval(lockout)) : .null
            // A lockout starts a fresh window, so the next failure after it ends counts from one.
            if failures >= maxFailures { failures = 0 }
            try await tx.query("""
                INSERT INTO login_throttle (email_key, failures, window_started_at, locked_until) VALUES ($1, $2, $3, $4)
                ON CONFLICT (email_key) DO UPDATE SET failures = $2, window_started_at = $3,
                    locked_until = COALESCE($4, login_throttle.locked_until)
                """, .text(key), .int(Int64(failures)), .time(started), lockedUntil)
        }
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
