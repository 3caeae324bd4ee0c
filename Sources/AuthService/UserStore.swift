import Foundation
import ServiceKit

/// SQL for `users`.
struct UserStore: Sendable {
    let database: any Database

    func find(id: String, on executor: (any SQLExecutor)? = nil) async throws -> UserRecord? {
        try await (executor ?? database)
            .first("SELECT \(UserRecord.columns) FROM users WHERE id = \(id)")
            .map(UserRecord.init(row:))
    }

    func find(email: String) async throws -> UserRecord? {
        try await database
            .first("SELECT \(UserRecord.columns) FROM users WHERE email = \(email)")
            .map(UserRecord.init(row:))
    }

    /// Inserts a new user; a taken email is `AlreadyExists` naming the field.
    func insert(id: String, email: String, passwordHash: String, name: String?, language: String, now: Date,
                on executor: any SQLExecutor) async throws {
        do {
            try await executor.query("""
                INSERT INTO users (id, email, password_hash, name, preferred_language, roles, created_at, updated_at, last_seen_at)
                VALUES (\(id), \(email), \(passwordHash), \(name), \(language), 'user', \(now), \(now), \(now))
                """)
        } catch DatabaseError.uniqueViolation {
            throw ServiceError(.alreadyExists, reason: "EMAIL_TAKEN", "an account with this email already exists", field: "email")
        }
    }

    func setPasswordHash(userID: String, hash: String, now: Date, on executor: (any SQLExecutor)? = nil) async throws {
        try await (executor ?? database).query(
            "UPDATE users SET password_hash = \(hash), updated_at = \(now) WHERE id = \(userID)")
    }

    func markEmailVerified(userID: String, now: Date, on executor: any SQLExecutor) async throws {
        try await executor.query("""
            UPDATE users SET email_verified_at = COALESCE(email_verified_at, \(now)), updated_at = \(now) WHERE id = \(userID)
            """)
    }

    func touchLastSeen(userID: String, now: Date) async throws {
        try await database.query("UPDATE users SET last_seen_at = \(now) WHERE id = \(userID)")
    }

    /// Applies the changes that are present and returns the updated user.
    func update(userID: String, changes: ProfileChanges, now: Date) async throws -> UserRecord? {
        var assignments: [(SQLIdentifier, SQLValue)] = [("updated_at", .time(now))]
        if let name = changes.name { assignments.append(("name", .optional(name))) }
        if let language = changes.preferredLanguage { assignments.append(("preferred_language", .text(language))) }
        if let theme = changes.themePreference { assignments.append(("theme_preference", .text(theme))) }
        if let level = changes.contentFilterLevel { assignments.append(("content_filter_level", .text(level))) }
        let statement: SQL = "UPDATE users SET \(SQL.assignments(assignments)) WHERE id = \(userID)"
        return try await database.transaction { tx in
            try await tx.query(statement)
            return try await find(id: userID, on: tx)
        }
    }

    func delete(userID: String, on executor: any SQLExecutor) async throws {
        try await executor.query("DELETE FROM users WHERE id = \(userID)")
    }
}
