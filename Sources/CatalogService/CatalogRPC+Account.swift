import AtelierProtos
import Foundation
import GRPCCore
import ServiceKit

/// A user's files and whole catalog: recorded uploads, and the purge when the account goes
/// (the export is `CatalogRPC+Export`).
extension CatalogRPC {
    /// Tables holding a user's rows, children before parents. `file_uploads` is apart: its rows
    /// go only once the caller has removed the files (`PurgeUser`).
    static let userTables = [
        "illustrations", "stories", "custom_events", "heroes", "collection_characters", "collections", "media", "variants",
        "themes", "character_tags", "characters", "owners",
    ]
    static let uploadColumns = "storage_key, file_name, mime_type, file_size, category, created_at"

    public func recordUpload(request: Atelier_Catalog_V1_RecordUploadRequest, context: ServerContext) async throws -> Atelier_Catalog_V1_RecordUploadResponse {
        let userID = try serviceSubject(request.userID)
        let file = request.file
        guard StorageKey.isValid(file.storageKey) else { throw ServiceError.invalid("file.storageKey", "file.storageKey is not a storage key") }
        let name = try Rules.required(file.fileName, field: "file.fileName", max: 255)
        let type = try Rules.required(file.mimeType, field: "file.mimeType", max: 100)
        let category = try Rules.required(file.category, field: "file.category", max: 50)
        guard file.fileSize >= 0 else { throw ServiceError.invalid("file.fileSize", "file.fileSize must be 0 or more") }
        let now = Date.databaseNow
        // The key is random and new; a retry of the same record changes nothing.
        try await database.query("""
            INSERT INTO file_uploads (storage_key, user_id, file_name, mime_type, file_size, category, created_at)
            VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (storage_key) DO NOTHING
            """, .text(file.storageKey), .text(userID), .text(name), .text(type), .int(file.fileSize), .text(category), .time(now))
        var recorded = file
        recorded.fileName = name
        recorded.createdAt = .init(date: now)
        return .with { $0.file = recorded }
    }

    static func upload(_ row: SQLRow) throws -> Atelier_Catalog_V1_FileUpload {
        var file = Atelier_Catalog_V1_FileUpload()
        file.storageKey = try row.string("storage_key")
        file.fileName = try row.string("file_name")
        file.mimeType = try row.string("mime_type")
        file.fileSize = try row.int("file_size")
        file.category = try row.string("category")
        file.createdAt = try row.timestamp("created_at")
        return file
    }

    public func purgeUser(request: Atelier_Catalog_V1_PurgeUserRequest, context: ServerContext) async throws -> Atelier_Catalog_V1_PurgeUserResponse {
        let userID = try serviceSubject(request.userID)
        let removed = try Rules.list(request.removedStorageKeys, field: "removedStorageKeys", maxItems: 1000, maxLength: 200)
        return try await database.transaction { tx in
            let user = SQLValue.text(userID)
            var deleted: Int64 = 0
            for key in removed {
                deleted += Int64(try await tx.query(
                    "DELETE FROM file_uploads WHERE storage_key = $1 AND user_id = $2 RETURNING user_id", .text(key), user).count)
            }
            // The files the rows point to, for the caller's blob store.
            var urls: [String] = []
            for (table, column) in [("media", "url"), ("media", "thumbnail_url"), ("variants", "image_url"), ("variants", "thumbnail_url"),
                                    ("characters", "reference_image_url"), ("heroes", "avatar_url"), ("stories", "audio_url"),
                                    ("illustrations", "image_url"), ("custom_events", "pictogram_url")] {
                urls += try await tx.query("SELECT \(column) AS url FROM \(table) WHERE user_id = $1 AND \(column) IS NOT NULL", user)
                    .compactMap { try $0.optionalString("url") }
            }
            // Public characters leave explore's totals. Their rows are locked as they are read, so
            // a concurrent delete, visibility change or second purge of the same character either
            // finished first (and the row is gone or private here) or waits: none is counted twice.
            let lock = tx.dialect == .postgres ? " FOR UPDATE" : ""
            var deltas: [String: Int64] = [:]
            for row in try await tx.query("SELECT style_type FROM characters WHERE user_id = $1 AND is_public = TRUE\(lock)", user) {
                deltas[try row.string("style_type"), default: 0] -= 1
            }
            try await PublicCounts.adjust(tx, by: deltas)
            let keys = try await tx.query("SELECT storage_key FROM file_uploads WHERE user_id = $1 ORDER BY storage_key", user).map { try $0.string("storage_key") }
            for table in Self.userTables {
                deleted += Int64(try await tx.query("DELETE FROM \(table) WHERE user_id = $1 RETURNING user_id", user).count)
            }
            return .with {
                $0.deleted = deleted
                $0.blobUrls = Array(Set(urls)).sorted()
                $0.storageKeys = keys
            }
        }
    }
}
