import AtelierProtos
import Foundation
import GRPCCore
import ServiceKit

/// A character's gallery: the images and videos generation made of it. The character keeps
/// its image and video counts in step with every attach and delete.
extension CatalogRPC {
    static let mediaColumns = """
        id, character_id, type, url, thumbnail_url, generation_params, file_size_bytes, width, height, \
        duration_seconds, watermarked, created_at
        """
    static let mediaTypes = ["image", "video"]

    public func listMedia(request: Atelier_Catalog_V1_ListMediaRequest, context: ServerContext) async throws -> Atelier_Catalog_V1_ListMediaResponse {
        let userID = try user()
        let characterID = try Rules.id(request.characterID, field: "characterId", what: "character")
        let page = try Page(limit: request.limit, offset: request.offset)
        var filter = Filter()
        filter.add("character_id = ?", .text(characterID))
        filter.add("user_id = ?", .text(userID))
        if !request.type.isEmpty { filter.add("type = ?", .text(try Rules.oneOf(request.type, field: "type", allowed: Self.mediaTypes))) }
        try await Self.requireCharacter(database, id: characterID, user: userID)
        let found = try await database.page(Self.mediaColumns, from: "media", filter: filter, order: "ORDER BY created_at DESC, id DESC",
                                            page: page, Self.media)
        return .with {
            $0.media = found.items
            $0.pagination = page.pagination(total: found.total)
        }
    }

    public func getMedia(request: Atelier_Catalog_V1_GetMediaRequest, context: ServerContext) async throws -> Atelier_Catalog_V1_MediaResponse {
        let userID = try user()
        let id = try Rules.id(request.id, field: "id", what: "media")
        guard let row = try await database.first("SELECT \(Self.mediaColumns) FROM media WHERE id = $1 AND user_id = $2", .text(id), .text(userID)) else {
            throw ServiceError.notFound("media")
        }
        let media = try Self.media(row)
        return .with { $0.media = media }
    }

    public func deleteMedia(request: Atelier_Catalog_V1_DeleteMediaRequest, context: ServerContext) async throws -> Atelier_Catalog_V1_SuccessResponse {
        let userID = try user()
        let id = try Rules.id(request.id, field: "id", what: "media")
        try await database.transaction { tx in
            guard let row = try await tx.first("DELETE FROM media WHERE id = $1 AND user_id = $2 RETURNING character_id, type", .text(id), .text(userID)) else {
                throw ServiceError.notFound("media")
            }
            let counter = try row.string("type") == "video" ? "video_count" : "image_count"
            try await tx.query("UPDATE characters SET \(counter) = \(counter) - 1 WHERE id = $1", .text(try row.string("character_id")))
        }
        return .with { $0.success = true }
    }

    public func attachMedia(request: Atelier_Catalog_V1_AttachMediaRequest, context: ServerContext) async throws -> Atelier_Catalog_V1_MediaResponse {
        let userID = try serviceSubject(request.userID)
        let characterID = try Rules.id(request.characterID, field: "characterId", what: "character")
        var media = Atelier_Catalog_V1_Media()
        media.id = SecureRandom.id(prefix: "med")
        media.characterID = characterID
        media.type = try Rules.oneOf(request.type, field: "type", allowed: Self.mediaTypes)
        media.url = try Rules.url(request.url, field: "url", required: true) ?? ""
        if let thumbnail = try Rules.url(request.hasThumbnailURL ? request.thumbnailURL : nil, field: "thumbnailUrl") { media.thumbnailURL = thumbnail }
        media.generationParams = try Rules.map(request.generationParams, field: "generationParams", maxItems: 50, maxLength: 4000)
        guard request.fileSizeBytes >= 0 else { throw ServiceError.invalid("fileSizeBytes", "fileSizeBytes must be 0 or more") }
        guard (0...16384).contains(request.width), (0...16384).contains(request.height) else {
            throw ServiceError.invalid("width", "width and height must be 0 to 16384")
        }
        if request.hasDurationSeconds {
            guard request.durationSeconds >= 0, request.durationSeconds <= 3600 else {
                throw ServiceError.invalid("durationSeconds", "durationSeconds must be 0 to 3600")
            }
            media.durationSeconds = request.durationSeconds
        }
        media.fileSizeBytes = request.fileSizeBytes
        media.width = request.width
        media.height = request.height
        media.watermarked = request.watermarked
        let key = try Rules.idempotencyKey(request.idempotencyKey)
        let now = Date.databaseNow
        media.createdAt = .init(date: now)
        let attached = media
        let database = database
        return try await idempotent(key, existing: {
            guard let key, let row = try await database.first(
                "SELECT \(Self.mediaColumns) FROM media WHERE user_id = $1 AND idempotency_key = $2", .text(userID), .text(key))
            else { return nil }
            let found = try Self.media(row)
            return Atelier_Catalog_V1_MediaResponse.with { $0.media = found }
        }, create: {
            try await database.transaction { tx in
                let character = try await Self.character(tx, id: characterID, user: userID, forUpdate: true)
                try await tx.query("""
                    INSERT INTO media (id, character_id, user_id, type, url, thumbnail_url, generation_params, file_size_bytes, width,
                                       height, duration_seconds, watermarked, idempotency_key, created_at)
                    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)
                    """, .text(attached.id), .text(characterID), .text(userID), .text(attached.type), .text(attached.url),
                    attached.hasThumbnailURL ? .text(attached.thumbnailURL) : .null, JSONColumn.encode(attached.generationParams),
                    .int(attached.fileSizeBytes), .int(Int64(attached.width)), .int(Int64(attached.height)),
                    attached.hasDurationSeconds ? .double(attached.durationSeconds) : .null, .bool(attached.watermarked), .optional(key), .time(now))
                let counter = attached.type == "video" ? "video_count" : "image_count"
                // The character's first image (or one generation names) becomes its picture.
                if attached.type == "image" && (request.setAsCharacterImage || !character.hasImageURL) {
                    try await tx.query("""
                        UPDATE characters SET \(counter) = \(counter) + 1, image_url = $2, thumbnail_url = $3,
                               generation_status = 'completed', updated_at = $4 WHERE id = $1
                        """, .text(characterID), .text(attached.url), .text(attached.hasThumbnailURL ? attached.thumbnailURL : attached.url), .time(now))
                } else {
                    try await tx.query("UPDATE characters SET \(counter) = \(counter) + 1 WHERE id = $1", .text(characterID))
                }
                return .with { $0.media = attached }
            }
        })
    }

    static func media(_ row: SQLRow) throws -> Atelier_Catalog_V1_Media {
        var media = Atelier_Catalog_V1_Media()
        media.id = try row.string("id")
        media.characterID = try row.string("character_id")
        media.type = try row.string("type")
        media.url = try row.string("url")
        if let thumbnail = try row.optionalString("thumbnail_url") { media.thumbnailURL = thumbnail }
        media.generationParams = try JSONColumn.map(row, "generation_params")
        media.fileSizeBytes = try row.int("file_size_bytes")
        media.width = Int32(clamping: try row.int("width"))
        media.height = Int32(clamping: try row.int("height"))
        if let duration = try row.optionalDouble("duration_seconds") { media.durationSeconds = duration }
        media.watermarked = try row.bool("watermarked")
        media.createdAt = try row.timestamp("created_at")
        return media
    }
}
