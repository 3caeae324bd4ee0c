import AtelierProtos
import Foundation
import ServiceKit

typealias Collection = Atelier_Catalog_V1_Collection

/// The SQL of `collections` and their members (`collection_characters`). A membership goes with
/// its collection or its character (foreign keys); the collection keeps its character count.
enum CollectionStore {
    static let columns: [MessageColumn<Collection>] = [
        .text("id", \.id), .text("name", \.name), .optionalText("description", \.description_p, present: \.hasDescription_p),
        .bool("is_public", \.isPublic), .optionalText("cover_image_url", \.coverImageURL, present: \.hasCoverImageURL),
        .int("character_count", \.characterCount), .time("created_at", \.createdAt), .time("updated_at", \.updatedAt),
    ]
    static let table = OwnedTable<Collection>("collections", columns: columns.names(), noun: "collection", read: columns.read)

    static func insert(_ db: any SQLExecutor, _ collection: Collection, user: String) async throws {
        try await table.insert(db, try columns.values(of: collection) + [("user_id", .text(user))])
    }

    @Sendable static func update(_ db: any SQLExecutor, _ collection: Collection, user: String) async throws {
        let fields = try columns.filter { ["name", "description", "is_public", "cover_image_url", "updated_at"].contains($0.name) }
            .values(of: collection)
        try await db.query("UPDATE collections SET \(SQL.assignments(fields)) WHERE id = \(collection.id) AND user_id = \(user)")
    }

    /// The collections that hold one of the owner's characters.
    static func holding(character: String, user: String) -> SQL {
        "id IN (SELECT collection_id FROM collection_characters WHERE character_id = \(character) AND user_id = \(user))"
    }

    /// Adds a character; returns false when it was already in the collection.
    static func add(_ tx: any SQLExecutor, character: String, to collection: String, user: String, now: Date) async throws -> Bool {
        let added = try await tx.query("""
            INSERT INTO collection_characters (collection_id, character_id, user_id, added_at) VALUES (\(collection), \(character), \(user), \(now))
            ON CONFLICT (collection_id, character_id) DO NOTHING RETURNING character_id
            """)
        guard !added.isEmpty else { return false }
        try await count(tx, collection: collection, by: 1, now: now)
        return true
    }

    /// Removes a character, or NotFound when it was not in the collection.
    static func remove(_ tx: any SQLExecutor, character: String, from collection: String, now: Date) async throws {
        let removed = try await tx.query("""
            DELETE FROM collection_characters WHERE collection_id = \(collection) AND character_id = \(character) RETURNING character_id
            """)
        guard !removed.isEmpty else { throw ServiceError.notFound("character in this collection") }
        try await count(tx, collection: collection, by: -1, now: now)
    }

    private static func count(_ tx: any SQLExecutor, collection: String, by delta: Int64, now: Date) async throws {
        try await tx.query("""
            UPDATE collections SET character_count = character_count + \(delta), updated_at = \(now) WHERE id = \(collection)
            """)
    }
}
