import Foundation
import ServiceKit

/// SQL for `users`.
struct UserStore: Sendable {
    let database: any Database

    func find(id: String, on executor: (any SQLExecutor)? = nil) async throws -> UserRecord? {
        try await (executor ?? database)
            .first("SELECT \(UserRecord.columns) FROM users WHERE id = $1", .text(id))
            .map(UserRecord.init(row:))
    }

    func find(email: String) async throws -> UserRecord? {
        try await database
            .first("SELECT \(UserRecord.columns) FROM users WHERE email = $1", .text(email))
            .map(UserRecord.init(row:))
    }

    /// Inserts a new user; a taken email is `AlreadyExists` naming the field.
    func insert(id: String, email: String, passwordHash: String, name: String?, language: String, now: Date,
                on executor: any SQLExecutor) async throws {
        do {
            try await executor.query("""
                INSERT INTO users (id, email, password_hash, name, preferred_language, roles, created_at, updated_at, last_seen_at)
                VALUES ($1, $2, $3, $4, $5, 'user', $6, $6, $6)
                """, .text(id), .text(email), .text(passwordHash), .optional(name), .text(language), .time(now))
        } catch DatabaseError.uniqueViolation {
            throw ServiceError(.alreadyExists, reason: "EMAIL_TAKEN", "an account with this email already exists", field: "email")
        }
    }

    func setPasswordHash(userID: String, hash: String, now: Date, on executor: (any SQLExecutor)? = nil) async throws {
        try await (executor ?? database).query(
            "UPDATE users SET password_hash = $2, updated_at = $3 WHERE id = $1", .text(userID), .text(hash), .time(now))
    }

    func markEmailVerified(userID: String, now: Date, on executor: any SQLExecutor) async throws {
        try await executor.query("""
            UPDATE users SET email_verified_at = COALESCE(email_verified_at, $2), updated_at = $2 WHERE id = $1
            """, .text(userID), .time(now))
    }

    func touchLastSeen(userID: String, now: Date) async throws {
        try await database.query("UPDATE users SET last_seen_at = $2 WHERE id = $1", .text(userID), .time(now))
    }

    /// Applies the changes that are present and returns the updated user.
    func update(userID: String, changes: ProfileChanges, now: Date) async throws -> UserRecord? {
        var assignments = ["updated_at = $2"]
        var binds: [SQLValue] = [.text(userID), .time(now)]
        func set(_ column: String, _ value: SQLValue) {
            binds.append(value)
            assignments.append("\(column) = $\(binds.count)")
        }
        if let name = changes.name { set("name", .optional(name)) }
        if let language = changes.preferredLanguage { set("preferred_language", .text(language)) }
        if let theme = changes.themePreference { set("theme_preference", .text(theme)) }
        if let level = changes.contentFilterLevel { set("content_filter_level", .text(level)) }
        let statement = "UPDATE users SET \(assignments.joined(separator: ", ")) WHERE id = $1"
        let values = binds
        return try await database.transaction { tx in
            try await tx.query(statement, values)
            return try await find(id: userID, on: tx)
        }
    }

    func delete(userID: String, on executor: any SQLExecutor) async throws {
        try await executor.query("DELETE FROM users WHERE id = $1", .text(userID))
    }
}
