import Crypto
import Foundation
import ServiceKit

/// A session as stored: the token itself is never kept, only its SHA-256.
struct SessionRecord: Sendable {
    var id, userID: String
    var createdAt, expiresAt, refreshedAt: Date
}

extension SessionRecord {
    init(row: SQLRow) throws {
        id = try row.string("id")
        userID = try row.string("user_id")
        createdAt = try row.date("created_at")
        expiresAt = try row.date("expires_at")
        refreshedAt = try row.date("refreshed_at")
    }
}

/// SQL for `sessions`. Tokens are 32 random bytes shown once as hex; lookups go by their hash.
struct SessionStore: Sendable {
    let database: any Database
    let lifetime: TimeInterval
    let refreshInterval: TimeInterval

    static func tokenHash(_ token: String) -> String {
        SHA256.hash(data: Array(token.utf8)).hexString
    }

    /// Opens a session and returns its id, token and expiry.
    func create(userID: String, now: Date, on executor: any SQLExecutor) async throws -> (id: String, token: String, expiresAt: Date) {
        let token = SecureRandom.hex(32)
        let id = SecureRandom.id(prefix: "ses")
        let expiresAt = now.addingTimeInterval(lifetime)
        try await executor.query("""
            INSERT INTO sessions (id, token_hash, user_id, created_at, expires_at, refreshed_at)
            VALUES (\(id), \(Self.tokenHash(token)), \(userID), \(now), \(expiresAt), \(now))
            """)
        return (id, token, expiresAt)
    }

    /// The session and its user in one query: validating a token is the edge's hottest call.
    func findWithUser(token: String, now: Date) async throws -> (SessionRecord, UserRecord)? {
        let userColumns = SQL.join(UserRecord.columns.map { "u.\($0)" }, separator: ", ")
        guard let row = try await database.first("""
            SELECT s.id AS session_id, s.user_id, s.created_at AS session_created_at, s.expires_at, s.refreshed_at, \(userColumns)
            FROM sessions s JOIN users u ON u.id = s.user_id
            WHERE s.token_hash = \(Self.tokenHash(token)) AND s.expires_at > \(now)
            """)
        else { return nil }
        let session = SessionRecord(
            id: try row.string("session_id"), userID: try row.string("user_id"), createdAt: try row.date("session_created_at"),
            expiresAt: try row.date("expires_at"), refreshedAt: try row.date("refreshed_at"))
        return (session, try UserRecord(row: row))
    }

    func find(id: String, userID: String, now: Date) async throws -> SessionRecord? {
        try await database.first("""
            SELECT id, user_id, created_at, expires_at, refreshed_at FROM sessions
            WHERE id = \(id) AND user_id = \(userID) AND expires_at > \(now)
            """).map(SessionRecord.init(row:))
    }

    /// Slides the expiry forward, at most once per refresh interval (a day), so validating a
    /// session is a read almost every time. Returns the session as it now stands.
    func refreshIfDue(_ session: SessionRecord, now: Date) async throws -> (session: SessionRecord, refreshed: Bool) {
        guard now.timeIntervalSince(session.refreshedAt) >= refreshInterval else { return (session, false) }
        var refreshed = session
        refreshed.expiresAt = now.addingTimeInterval(lifetime)
        refreshed.refreshedAt = now
        try await database.query(
            "UPDATE sessions SET expires_at = \(refreshed.expiresAt), refreshed_at = \(now) WHERE id = \(session.id)")
        return (refreshed, true)
    }

    func delete(id: String) async throws {
        try await database.query("DELETE FROM sessions WHERE id = \(id)")
    }

    /// Ends every session of a user except `keeping`; returns how many ended.
    func deleteAll(userID: String, keeping: String? = nil, on executor: (any SQLExecutor)? = nil) async throws -> Int {
        let rows = try await (executor ?? database).query(
            "DELETE FROM sessions WHERE user_id = \(userID) AND id <> \(keeping ?? "") RETURNING id")
        return rows.count
    }
}
