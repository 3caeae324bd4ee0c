import Crypto
import Foundation
import ServiceKit

/// Slows password guessing without letting anyone lock anyone else out (OWASP: lockout is itself
/// a denial of service). Failures within `window` count three ways:
/// - per account and client address: `maxFailures` of them lock that pair for `lockout`, and the
///   right password from that address is refused (429 with Retry-After) until it ends;
/// - per client address, across accounts: `addressMaxFailures` lock the address (one place trying
///   many accounts);
/// - per account, across addresses: past `accountSlowdownFailures`, every attempt for the account
///   is answered only after `slowdown`, from any address, but none is refused for it: the owner,
///   from an address with no failures of its own, still gets in.
/// Keys are hashes of the normalised email and the address, whether or not an account has the
/// email, so nothing here says which accounts exist.
struct LoginThrottle: Sendable {
    let database: any Database
    /// The limits: per account and address, per address, and per account (which only slows).
    let maxFailures, addressMaxFailures, accountSlowdownFailures: Int
    let window, lockout: TimeInterval
    let slowdown: Duration

    private struct Keys {
        let pair: String
        let address: String
        let account: String

        init(email: String, address: String) {
            pair = Self.hash("pair:\(email)\n\(address)")
            self.address = Self.hash("address:\(address)")
            account = Self.hash("account:\(email)")
        }

        static func hash(_ text: String) -> String { SHA256.hash(data: Array(text.utf8)).hexString }
    }

    /// Throws 429 while the account is locked for this address, or the address for every account;
    /// waits `slowdown` first when the account as a whole has failed too often.
    func checkAllowed(email: String, address: String, now: Date) async throws {
        let keys = Keys(email: email, address: address)
        let rows = try await database.query("""
            SELECT throttle_key, failures, window_started_at, locked_until FROM login_throttle
            WHERE throttle_key IN (\(keys.pair), \(keys.address), \(keys.account))
            """)
        let windowStart = now.addingTimeInterval(-window)
        var accountFailures: Int64 = 0
        for row in rows {
            let key = try row.string("throttle_key")
            if key != keys.account, let lockedUntil = try row.optionalDate("locked_until"), lockedUntil > now {
                throw Self.lockedError(until: lockedUntil, now: now)
            }
            if key == keys.account, try row.date("window_started_at") > windowStart { accountFailures = try row.int("failures") }
        }
        if accountFailures >= Int64(accountSlowdownFailures) { try await Task.sleep(for: slowdown) }
    }

    /// Counts a failure three ways; a count that reaches its limit starts its lockout. Each count
    /// is one atomic upsert, so failures arriving at once are all counted.
    func recordFailure(email: String, address: String, now: Date) async throws {
        let keys = Keys(email: email, address: address)
        let account = Keys.hash("account:\(email)")
        for (key, owner, limit) in [(keys.pair, Optional(account), maxFailures), (keys.address, nil, addressMaxFailures),
                                    (keys.account, Optional(account), Int.max)] {
            let failures = try await count(key: key, account: owner, now: now)
            guard failures >= limit else { continue }
            // The lockout starts a fresh window, so the next failure after it ends counts from one.
            try await database.query("""
                UPDATE login_throttle SET locked_until = \(now.addingTimeInterval(lockout)), failures = 0, window_started_at = \(now)
                WHERE throttle_key = \(key)
                """)
        }
    }

    private func count(key: String, account: String?, now: Date) async throws -> Int {
        let windowStart = now.addingTimeInterval(-window)
        let rows = try await database.query("""
            INSERT INTO login_throttle (throttle_key, account_key, failures, window_started_at) VALUES (\(key), \(account), 1, \(now))
            ON CONFLICT (throttle_key) DO UPDATE SET
                failures = CASE WHEN login_throttle.window_started_at > \(windowStart) THEN login_throttle.failures + 1 ELSE 1 END,
                window_started_at = CASE WHEN login_throttle.window_started_at > \(windowStart) THEN login_throttle.window_started_at ELSE \(now) END
            RETURNING failures
            """)
        return Int(try rows.first?.int("failures") ?? 0)
    }

    /// A successful login from an address clears that address's failures for the account.
    func succeeded(email: String, address: String) async throws {
        try await database.query("DELETE FROM login_throttle WHERE throttle_key = \(Keys(email: email, address: address).pair)")
    }

    /// Forgets every count about an account (its password was reset, or it was deleted).
    func reset(email: String) async throws {
        try await database.query("DELETE FROM login_throttle WHERE account_key = \(Keys.hash("account:\(email)"))")
    }

    static func lockedError(until: Date, now: Date) -> ServiceError {
        let seconds = max(1, Int(until.timeIntervalSince(now).rounded(.up)))
        return ServiceError(
            .resourceExhausted, reason: "TOO_MANY_ATTEMPTS",
            "too many failed attempts; try again in \(seconds) seconds", retryAfterSeconds: seconds)
    }
}
