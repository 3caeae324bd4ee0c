import AtelierProtos
import Foundation
import GRPCCore
import ServiceKit

/// Collections: named groups of the caller's characters. A character may sit in several.
extension CatalogRPC {
    static let collectionColumns = "id, name, description, is_public, cover_image_url, character_count, created_at, updated_at"

    public func createCollection(request: Atelier_Catalog_V1_CreateCollectionRequest, context: ServerContext) async throws -> Atelier_Catalog_V1_CollectionResponse {
        let userID = try user()
        var collection = Atelier_Catalog_V1_Collection()
        collection.id = SecureRandom.id(prefix: "col")
        collection.name = try Rules.required(request.name, field: "name", max: 100)
        if let description = try Rules.text(request.description_p, field: "description", max: 1000) { collection.description_p = description }
        if let cover = try Rules.url(request.hasCoverImageURL ? request.coverImageURL : nil, field: "coverImageUrl") { collection.coverImageURL = cover }
        collection.isPublic = request.isPublic
        let now = Date.databaseNow
        collection.createdAt = .init(date: now)
        collection.updatedAt = .init(date: now)
        try await database.query("""
            INSERT INTO collections (id, user_id, name, description, is_public, cover_image_url, created_at, updated_at)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $7)
            """, .text(collection.id), .text(userID), .text(collection.name),
            collection.hasDescription_p ? .text(collection.description_p) : .null, .bool(collection.isPublic),
            collection.hasCoverImageURL ? .text(collection.coverImageURL) : .null, .time(now))
        return .with { $0.collection = collection }
    }

    public func listCollections(request: Atelier_Catalog_V1_ListCollectionsRequest, context: ServerContext) async throws -> Atelier_Catalog_V1_ListCollectionsResponse {
        let userID = try user()
        let page = try Page(limit: request.limit, offset: request.offset)
        var filter = Filter()
        filter.add("user_id = ?", .text(userID))
        if !request.characterID.isEmpty {
            let characterID = try Rules.id(request.characterID, field: "characterId", what: "character")
            filter.add("id IN (SELECT collection_id FROM collection_characters WHERE character_id = ? AND user_id = ?)",
                       .text(characterID), .text(userID))
        }
        let found = try await database.page(Self.collectionColumns, from: "collections", filter: filter,
                                            order: "ORDER BY created_at DESC, id DESC", page: page, Self.collection)
        return .with {
            $0.collections = found.items
            $0.pagination = page.pagination(total: found.total)
        }
    }

    public func getCollection(request: Atelier_Catalog_V1_GetCollectionRequest, context: ServerContext) async throws -> Atelier_Catalog_V1_CollectionResponse {
        let userID = try user()
        let id = try Rules.id(request.collectionID, field: "collectionId", what: "collection")
        let collection = try await Self.collection(database, id: id, user: userID)
        return .with { $0.collection = collection }
    }

    public func updateCollection(request: Atelier_Catalog_V1_UpdateCollectionRequest, context: ServerContext) async throws -> Atelier_Catalog_V1_CollectionResponse {
        let userID = try user()
        let id = try Rules.id(request.collectionID, field: "collectionId", what: "collection")
        let name = request.hasName ? try Rules.required(request.name, field: "name", max: 100) : nil
        let description = try Rules.text(request.description_p, field: "description", max: 1000)
        let cover = try Rules.url(request.coverImageURL, field: "coverImageUrl")
        let now = Date.databaseNow
        return try await database.transaction { tx in
            var collection = try await Self.collection(tx, id: id, user: userID)
            if let name { collection.name = name }
            if request.hasDescription_p { if let description { collection.description_p = description } else { collection.clearDescription_p() } }
            if request.hasCoverImageURL { if let cover { collection.coverImageURL = cover } else { collection.clearCoverImageURL() } }
            if request.hasIsPublic { collection.isPublic = request.isPublic }
            collection.updatedAt = .init(date: now)
            try await tx.query("""
                UPDATE collections SET name = $1, description = $2, is_public = $3, cover_image_url = $4, updated_at = $5
                WHERE id = $6 AND user_id = $7
                """, .text(collection.name), collection.hasDescription_p ? .text(collection.description_p) : .null,
                .bool(collection.isPublic), collection.hasCoverImageURL ? .text(collection.coverImageURL) : .null,
                .time(now), .text(id), .text(userID))
            return .with { $0.collection = collection }
        }
    }

    public func deleteCollection(request: Atelier_Catalog_V1_DeleteCollectionRequest, context: ServerContext) async throws -> Atelier_Catalog_V1_SuccessResponse {
        let userID = try user()
        let id = try Rules.id(request.collectionID, field: "collectionId", what: "collection")
        try await database.transaction { tx in
            guard !(try await tx.query("DELETE FROM collections WHERE id = $1 AND user_id = $2 RETURNING id", .text(id), .text(userID))).isEmpty else {
                throw ServiceError.notFound("collection")
            }
            try await tx.query("DELETE FROM collection_characters WHERE collection_id = $1", .text(id))
        }
        return .with { $0.success = true }
    }

    public func listCollectionCharacters(request: Atelier_Catalog_V1_ListCollectionCharactersRequest, context: ServerContext) async throws -> Atelier_Catalog_V1_ListCharactersResponse {
        let userID = try user()
        let id = try Rules.id(request.collectionID, field: "collectionId", what: "collection")
        let page = try Page(limit: request.limit, offset: request.offset)
        let collection = try await Self.collection(database, id: id, user: userID)
        let columns = CharacterRecord.columns.split(separator: ",").map { "c." + $0.trimmingCharacters(in: .whitespacesAndNewlines) }
        let rows = try await database.query("""
            SELECT \(columns.joined(separator: ", ")) FROM collection_characters m JOIN characters c ON c.id = m.character_id
            WHERE m.collection_id = $1 ORDER BY m.added_at DESC, m.character_id DESC LIMIT $2 OFFSET $3
            """, .text(id), .int(Int64(page.limit)), .int(Int64(page.offset)))
        let characters = try rows.map(CharacterRecord.character)
        return .with {
            $0.characters = characters
            $0.pagination = page.pagination(total: collection.characterCount)
        }
    }

    public func addCollectionCharacter(request: Atelier_Catalog_V1_AddCollectionCharacterRequest, context: ServerContext) async throws -> Atelier_Catalog_V1_CollectionResponse {
        let userID = try user()
        let id = try Rules.id(request.collectionID, field: "collectionId", what: "collection")
        let characterID = try Rules.id(request.characterID, field: "characterId", what: "character")
        let now = Date.databaseNow
        return try await database.transaction { tx in
            var collection = try await Self.collection(tx, id: id, user: userID, forUpdate: true)
            try await Self.requireCharacter(tx, id: characterID, user: userID)
            let added = try await tx.query("""
                INSERT INTO collection_characters (collection_id, character_id, user_id, added_at) VALUES ($1, $2, $3, $4)
                ON CONFLICT (collection_id, character_id) DO NOTHING RETURNING character_id
                """, .text(id), .text(characterID), .text(userID), .time(now))
            if !added.isEmpty {
                try await tx.query("UPDATE collections SET character_count = character_count + 1, updated_at = $2 WHERE id = $1", .text(id), .time(now))
                collection.characterCount += 1
                collection.updatedAt = .init(date: now)
            }
            return .with { $0.collection = collection }
        }
    }

    public func removeCollectionCharacter(request: Atelier_Catalog_V1_RemoveCollectionCharacterRequest, context: ServerContext) async throws -> Atelier_Catalog_V1_CollectionResponse {
        let userID = try user()
        let id = try Rules.id(request.collectionID, field: "collectionId", what: "collection")
        let characterID = try Rules.id(request.characterID, field: "characterId", what: "character")
        let now = Date.databaseNow
        return try await database.transaction { tx in
            var collection = try await Self.collection(tx, id: id, user: userID, forUpdate: true)
            let removed = try await tx.query(
                "DELETE FROM collection_characters WHERE collection_id = $1 AND character_id = $2 RETURNING character_id",
                .text(id), .text(characterID))
            guard !removed.isEmpty else { throw ServiceError.notFound("character in this collection") }
            try await tx.query("UPDATE collections SET character_count = character_count - 1, updated_at = $2 WHERE id = $1", .text(id), .time(now))
            collection.characterCount -= 1
            collection.updatedAt = .init(date: now)
            return .with { $0.collection = collection }
        }
    }

    // MARK: Rows

    static func collection(_ db: any SQLExecutor, id: String, user: String, forUpdate: Bool = false) async throws -> Atelier_Catalog_V1_Collection {
        let lock = forUpdate && db.dialect == .postgres ? " FOR UPDATE" : ""
        guard let row = try await db.first("SELECT \(collectionColumns) FROM collections WHERE id = $1 AND user_id = $2\(lock)", .text(id), .text(user)) else {
            throw ServiceError.notFound("collection")
        }
        return try collection(row)
    }

    static func collection(_ row: SQLRow) throws -> Atelier_Catalog_V1_Collection {
        var collection = Atelier_Catalog_V1_Collection()
        collection.id = try row.string("id")
        collection.name = try row.string("name")
        if let description = try row.optionalString("description") { collection.description_p = description }
        collection.isPublic = try row.bool("is_public")
        if let cover = try row.optionalString("cover_image_url") { collection.coverImageURL = cover }
        collection.characterCount = try row.int("character_count")
        collection.createdAt = try row.timestamp("created_at")
        collection.updatedAt = try row.timestamp("updated_at")
        return collection
    }
}
