import AtelierProtos
import Foundation
import GRPCCore
import ServiceKit

/// A user's files and whole catalog: recorded uploads, and the purge when the account goes
/// (the export is `CatalogRPC+Export`).
extension CatalogRPC {
    /// Tables holding a user's rows, children before parents. `file_uploads` is apart: its rows
    /// go only once the caller has removed the files (`PurgeUser`).
    static let userTables: [SQLIdentifier] = [
        "illustrations", "stories", "custom_events", "heroes", "collection_characters", "collections", "media", "variants",
        "themes", "character_tags", "characters", "owners",
    ]

    public func recordUpload(request: Atelier_Catalog_V1_RecordUploadRequest, context: ServerContext) async throws -> Atelier_Catalog_V1_RecordUploadResponse {
        let userID = try serviceSubject(request.userID)
        var file = request.file
        guard StorageKey.isValid(file.storageKey) else { throw ServiceError.invalid("file.storageKey", "file.storageKey is not a storage key") }
        file.fileName = try Rules.required(file.fileName, field: "file.fileName", max: 255)
        file.mimeType = try Rules.required(file.mimeType, field: "file.mimeType", max: 100)
        file.category = try Rules.required(file.category, field: "file.category", max: 50)
        guard file.fileSize >= 0 else { throw ServiceError.invalid("file.fileSize", "file.fileSize must be 0 or more") }
        let now = Date.databaseNow
        file.createdAt = .init(date: now)
        // Records from before links carried their expiry: the default upload lifetime.
        if !file.hasLinkExpiresAt { file.linkExpiresAt = .init(date: now.addingTimeInterval(UploadStore.defaultLinkLifetime)) }
        try await UploadStore.record(database, file, user: userID)
        let recorded = file
        return .with { $0.file = recorded }
    }

    public func getUpload(request: Atelier_Catalog_V1_GetUploadRequest, context: ServerContext) async throws -> Atelier_Catalog_V1_GetUploadResponse {
        _ = try Caller.service()
        guard StorageKey.isValid(request.storageKey) else { throw ServiceError.notFound("upload") }
        let file = try await UploadStore.live(database, key: request.storageKey, user: request.userID.isEmpty ? nil : request.userID)
        return .with { $0.file = file }
    }

    public func purgeUser(request: Atelier_Catalog_V1_PurgeUserRequest, context: ServerContext) async throws -> Atelier_Catalog_V1_PurgeUserResponse {
        let userID = try serviceSubject(request.userID)
        let removed = try Rules.list(request.removedStorageKeys, field: "removedStorageKeys", maxItems: 1000, maxLength: 200)
        let now = Date.databaseNow
        return try await database.transaction { tx in
            var deleted = try await UploadStore.forget(tx, removed: removed, user: userID, now: now)
            let urls = try await Self.links(tx, user: userID)
            // Public characters leave explore's totals. Their rows are locked as they are read, so
            // a concurrent delete, visibility change or second purge of the same character either
            // finished first (and the row is gone or private here) or waits: none is counted twice.
            var deltas: [String: Int64] = [:]
            for row in try await tx.query("SELECT style_type FROM characters WHERE user_id = \(userID) AND is_public = TRUE\(SQL.forUpdate)") {
                deltas[try row.string("style_type"), default: 0] -= 1
            }
            try await PublicCounts.adjust(tx, by: deltas)
            for table in Self.userTables {
                deleted += Int64(try await tx.query("DELETE FROM \(table) WHERE user_id = \(userID) RETURNING user_id").count)
            }
            let files = try await UploadStore.remaining(tx, user: userID, now: now)
            return .with {
                $0.deleted = deleted
                $0.blobUrls = urls
                $0.storageKeys = files.keys
                $0.awaitingLinkExpiry = Int64(files.awaiting)
                if let until = files.linksExpireAt { $0.linksExpireAt = .init(date: until) }
            }
        }
    }

    /// The columns that hold links to files, for the purge's record of what the rows pointed to.
    static let linkColumns: [(table: SQLIdentifier, column: SQLIdentifier)] = [
        ("media", "url"), ("media", "thumbnail_url"), ("variants", "image_url"), ("variants", "thumbnail_url"),
        ("characters", "reference_image_url"), ("heroes", "avatar_url"), ("stories", "audio_url"),
        ("illustrations", "image_url"), ("custom_events", "pictogram_url"),
    ]

    /// The files a user's rows point to, for the caller's blob store.
    static func links(_ tx: any SQLExecutor, user: String) async throws -> [String] {
        var urls: Set<String> = []
        for (table, column) in linkColumns {
            for row in try await tx.query("SELECT \(column) AS url FROM \(table) WHERE user_id = \(user) AND \(column) IS NOT NULL") {
                if let url = try row.optionalString("url") { urls.insert(url) }
            }
        }
        return urls.sorted()
    }
}
