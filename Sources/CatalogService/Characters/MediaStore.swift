import AtelierProtos
import Foundation
import ServiceKit

typealias Media = Atelier_Catalog_V1_Media

/// The SQL of `media`, a character's gallery. Media go with their character (foreign key); the
/// character keeps its image and video counts in step with every attach and delete.
enum MediaStore {
    static let types = ["image", "video"]

    static let columns: [MessageColumn<Media>] = [
        .text("id", \.id), .text("character_id", \.characterID), .text("type", \.type), .text("url", \.url),
        .optionalText("thumbnail_url", \.thumbnailURL, present: \.hasThumbnailURL), .map("generation_params", \.generationParams),
        .int("file_size_bytes", \.fileSizeBytes), .int32("width", \.width), .int32("height", \.height),
        .optionalDouble("duration_seconds", \.durationSeconds, present: \.hasDurationSeconds),
        .bool("watermarked", \.watermarked), .time("created_at", \.createdAt),
    ]
    static let table = OwnedTable<Media>("media", columns: columns.names(), noun: "media", read: columns.read)

    /// Attaches a media item to its character and counts it there, in the caller's transaction:
    /// false when a media of the same idempotency key is there already (a retry), and nothing
    /// changed. The character's first image (or one generation names) becomes its picture. The
    /// insert says whether this is new and the update whether the character is the user's, two
    /// statements where a lookup by key, a locked read of the character and both writes were four.
    static func attach(_ tx: any SQLExecutor, _ media: Media, user: String, key: String?, asPicture: Bool) async throws -> Bool {
        let values = try columns.values(of: media) + [("user_id", .text(user)), ("idempotency_key", .optional(key))]
        do {
            guard try await tx.first("""
                INSERT INTO media (\(values.map(\.0))) VALUES (\(list: values.map(\.1))) ON CONFLICT DO NOTHING RETURNING id
                """) != nil else { return false }
        } catch DatabaseError.foreignKeyViolation {
            throw CharacterStore.table.notFound
        }
        var picture: [(SQLIdentifier, SQLValue)] = []
        if media.type == "image" {
            picture = [("image_url", .text(media.url)), ("thumbnail_url", .text(media.hasThumbnailURL ? media.thumbnailURL : media.url)),
                       ("generation_status", "completed"), ("updated_at", .time(media.createdAt.date))]
        }
        // Every change of the picture is taken only where the character has none, or when asked.
        let becomes: SQL = asPicture ? "TRUE" : "image_url IS NULL"
        let changes = SQL.join(picture.map { column, value in ", \(column) = CASE WHEN \(becomes) THEN \(value) ELSE \(column) END" }, separator: "")
        guard try await count(tx, character: media.characterID, type: media.type, by: 1, owner: user, also: changes) else {
            throw CharacterStore.table.notFound
        }
        return true
    }

    static func delete(_ tx: any SQLExecutor, id: String, user: String) async throws {
        let row = try await table.delete(tx, id: id, owner: user, returning: ["character_id", "type"])
        try await count(tx, character: try row.string("character_id"), type: try row.string("type"), by: -1)
    }

    /// Moves the character's count of `type` by `delta`, with `more` assignments after it; false
    /// when there is no such character (of `owner`, when given).
    @discardableResult
    private static func count(_ tx: any SQLExecutor, character: String, type: String, by delta: Int64, owner: String? = nil,
                              also more: SQL = "") async throws -> Bool {
        let counter: SQL = type == "video" ? "video_count = video_count" : "image_count = image_count"
        let owned: SQL = owner.map { " AND user_id = \($0)" } ?? ""
        return try await tx.first("UPDATE characters SET \(counter) + \(delta)\(more) WHERE id = \(character)\(owned) RETURNING id") != nil
    }
}
