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

    /// Attaches a media item to its character and counts it there, atomically: false when a media
    /// of the same idempotency key is there already (a retry), and nothing changed; NotFound when
    /// the character is not the user's. The character's first image (or one generation names)
    /// becomes its picture. On PostgreSQL one statement whose CTEs check the owner, insert and count
    /// (a job's attach was four round trips: BEGIN, the insert, the count, COMMIT); on SQLite the
    /// insert, which says whether this is new, and the count, which says whether the character is
    /// the user's, in one transaction.
    static func attach(_ db: any SQLExecutor, _ media: Media, user: String, key: String?, asPicture: Bool) async throws -> Bool {
        let values = try columns.values(of: media) + [("user_id", .text(user)), ("idempotency_key", .optional(key))]
        let increment = counting(media.type, by: 1, also: picture(media, asPicture: asPicture))
        do {
            return try await db.atomically { db in
                if db.dialect == .postgres {
                    let row = try await db.first("""
                        WITH owned AS (SELECT id FROM characters WHERE id = \(media.characterID) AND user_id = \(user)),
                        inserted AS (INSERT INTO media (\(values.map(\.0))) SELECT \(list: values.map(\.1)) FROM owned
                                     ON CONFLICT DO NOTHING RETURNING id),
                        counted AS (UPDATE characters SET \(increment) WHERE id = \(media.characterID) AND user_id = \(user)
                                    AND EXISTS (SELECT 1 FROM inserted) RETURNING id)
                        SELECT (SELECT COUNT(*) FROM owned) AS owned, (SELECT COUNT(*) FROM counted) AS made
                        """)
                    guard let row, try row.int("owned") == 1 else { throw CharacterStore.table.notFound }
                    return try row.int("made") == 1
                }
                guard try await db.first("""
                    INSERT INTO media (\(values.map(\.0))) VALUES (\(list: values.map(\.1))) ON CONFLICT DO NOTHING RETURNING id
                    """) != nil else { return false }
                guard try await count(db, character: media.characterID, increment, owner: user) else { throw CharacterStore.table.notFound }
                return true
            }
        } catch DatabaseError.foreignKeyViolation {
            throw CharacterStore.table.notFound
        }
    }

    /// The character's picture, when an attached image becomes it: only where the character has
    /// none, or when asked.
    private static func picture(_ media: Media, asPicture: Bool) -> SQL {
        guard media.type == "image" else { return "" }
        let picture: [(SQLIdentifier, SQLValue)] = [
            ("image_url", .text(media.url)), ("thumbnail_url", .text(media.hasThumbnailURL ? media.thumbnailURL : media.url)),
            ("generation_status", "completed"), ("updated_at", .time(media.createdAt.date)),
        ]
        let becomes: SQL = asPicture ? "TRUE" : "image_url IS NULL"
        return SQL.join(picture.map { column, value in ", \(column) = CASE WHEN \(becomes) THEN \(value) ELSE \(column) END" }, separator: "")
    }

    static func delete(_ tx: any SQLExecutor, id: String, user: String) async throws {
        let row = try await table.delete(tx, id: id, owner: user, returning: ["character_id", "type"])
        try await count(tx, character: try row.string("character_id"), counting(try row.string("type"), by: -1))
    }

    /// The SET of a character's count of `type` moved by `delta`, with `more` assignments after it.
    private static func counting(_ type: String, by delta: Int64, also more: SQL = "") -> SQL {
        let counter: SQL = type == "video" ? "video_count = video_count" : "image_count = image_count"
        return "\(counter) + \(delta)\(more)"
    }

    /// Applies `counting` to the character; false when there is no such character (of `owner`,
    /// when given).
    @discardableResult
    private static func count(_ tx: any SQLExecutor, character: String, _ counting: SQL, owner: String? = nil) async throws -> Bool {
        let owned: SQL = owner.map { " AND user_id = \($0)" } ?? ""
        return try await tx.first("UPDATE characters SET \(counting) WHERE id = \(character)\(owned) RETURNING id") != nil
    }
}
