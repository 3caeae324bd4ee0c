import Foundation
import ServiceKit

/// Single-use tokens sent by email: email verification and password reset. Like session
/// tokens they are 32 random bytes, stored only as a hash, and expire.
struct OneTimeTokenStore: Sendable {
    enum Purpose: String {
        case verifyEmail = "verify_email"
        case resetPassword = "reset_password"
    }

    struct Redeemed {
        let userID: String
        let email: String
    }

    let database: any Database

    func issue(_ purpose: Purpose, userID: String, email: String, lifetime: TimeInterval, now: Date,
               on executor: any SQLExecutor) async throws -> String {
        let token = SecureRandom.hex(32)
        try await executor.query("""
            INSERT INTO one_time_tokens (token_hash, purpose, user_id, email, created_at, expires_at)
            VALUES (\(SessionStore.tokenHash(token)), \(purpose.rawValue), \(userID), \(email), \(now), \(now.addingTimeInterval(lifetime)))
            """)
        return token
    }

    /// Marks the token used and returns whom it was for; nil when unknown, used, expired or of
    /// another purpose. The conditional UPDATE makes two concurrent redemptions succeed once.
    func redeem(_ purpose: Purpose, token: String, now: Date, on executor: any SQLExecutor) async throws -> Redeemed? {
        let rows = try await executor.query("""
            UPDATE one_time_tokens SET used_at = \(now)
            WHERE token_hash = \(SessionStore.tokenHash(token)) AND purpose = \(purpose.rawValue) AND used_at IS NULL AND expires_at > \(now)
            RETURNING user_id, email
            """)
        guard let row = rows.first else { return nil }
        return Redeemed(userID: try row.string("user_id"), email: try row.string("email"))
    }

    /// Voids a user's outstanding tokens of one purpose, so only the newest link works.
    func revokeOutstanding(_ purpose: Purpose, userID: String, now: Date, on executor: any SQLExecutor) async throws {
        try await executor.query("""
            UPDATE one_time_tokens SET used_at = \(now) WHERE user_id = \(userID) AND purpose = \(purpose.rawValue) AND used_at IS NULL
            """)
    }
}
