import AtelierProtos
import Foundation
import ServiceKit

typealias FileUpload = Atelier_Catalog_V1_FileUpload

/// The SQL of `file_uploads`: every upload link the edge issued, whose file the account owns.
/// A deleted account's records stay, marked purged, until the edge reports the file removed
/// and the link has expired, so a file that lands late through a link issued before the
/// deletion is still known and removed by a later purge.
enum UploadStore {
    /// The upload link lifetime assumed for records made before links carried their expiry.
    static let defaultLinkLifetime: TimeInterval = 900

    static let columns: [MessageColumn<FileUpload>] = [
        .text("storage_key", \.storageKey), .text("file_name", \.fileName), .text("mime_type", \.mimeType),
        .int("file_size", \.fileSize), .text("category", \.category), .time("created_at", \.createdAt),
        .time("link_expires_at", \.linkExpiresAt),
    ]

    /// The key is random and new; a retry of the same record changes nothing.
    static func record(_ db: any SQLExecutor, _ file: FileUpload, user: String) async throws {
        let values = try columns.values(of: file) + [("user_id", .text(user))]
        try await db.query("""
            INSERT INTO file_uploads (\(values.map(\.0))) VALUES (\(list: values.map(\.1))) ON CONFLICT (storage_key) DO NOTHING
            """)
    }

    /// The record of a key whose account has not been purged, or NotFound.
    /// With `user`, only that user's record: another user's file reads as not found.
    static func live(_ db: any SQLExecutor, key: String, user: String? = nil) async throws -> FileUpload {
        let owner: SQL = user.map { "AND user_id = \($0)" } ?? ""
        guard let row = try await db.first("""
            SELECT \(columns.names()) FROM file_uploads WHERE storage_key = \(key) AND purged_at IS NULL \(owner)
            """)
        else { throw ServiceError.notFound("upload") }
        return try columns.read(row)
    }

    /// Marks the account's records purged and deletes those the caller removed whose link has
    /// expired; returns how many it deleted.
    static func forget(_ tx: any SQLExecutor, removed: [String], user: String, now: Date) async throws -> Int64 {
        try await tx.query("UPDATE file_uploads SET purged_at = \(now) WHERE user_id = \(user) AND purged_at IS NULL")
        guard !removed.isEmpty else { return 0 }
        return Int64(try await tx.query("""
            DELETE FROM file_uploads WHERE user_id = \(user) AND storage_key IN (\(list: removed.map { .text($0) }))
            AND link_expires_at <= \(now) RETURNING storage_key
            """).count)
    }

    /// The account's records still kept: the keys to remove, how many of them still have a
    /// working link, and when the last link expires.
    static func remaining(_ tx: any SQLExecutor, user: String, now: Date) async throws -> (keys: [String], awaiting: Int, linksExpireAt: Date?) {
        let rows = try await tx.query("SELECT storage_key, link_expires_at FROM file_uploads WHERE user_id = \(user) ORDER BY storage_key")
        var keys: [String] = []
        var awaiting = 0
        var last: Date?
        for row in rows {
            keys.append(try row.string("storage_key"))
            let expires = try row.date("link_expires_at")
            if expires > now {
                awaiting += 1
                last = max(last ?? expires, expires)
            }
        }
        return (keys, awaiting, last)
    }
}
