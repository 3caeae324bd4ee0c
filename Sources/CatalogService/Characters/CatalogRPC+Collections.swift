import AtelierProtos
import Foundation
import GRPCCore
import ServiceKit

/// Collections: named groups of the caller's characters. A character may sit in several.
extension CatalogRPC {
    public func createCollection(request: Atelier_Catalog_V1_CreateCollectionRequest, context: ServerContext) async throws -> Atelier_Catalog_V1_CollectionResponse {
        let userID = try user()
        var collection = Collection()
        collection.id = SecureRandom.id(prefix: "col")
        collection.name = try Rules.required(request.name, field: "name", max: 100)
        if let description = try Rules.text(request.description_p, field: "description", max: 1000) { collection.description_p = description }
        if let cover = try Rules.url(request.hasCoverImageURL ? request.coverImageURL : nil, field: "coverImageUrl") { collection.coverImageURL = cover }
        collection.isPublic = request.isPublic
        let now = Date.databaseNow
        collection.createdAt = .init(date: now)
        collection.updatedAt = .init(date: now)
        try await CollectionStore.insert(database, collection, user: userID)
        let created = collection
        return .with { $0.collection = created }
    }

    public func listCollections(request: Atelier_Catalog_V1_ListCollectionsRequest, context: ServerContext) async throws -> Atelier_Catalog_V1_ListCollectionsResponse {
        let userID = try user()
        let page = try Page(limit: request.limit, offset: request.offset)
        var conditions: [SQL] = []
        if !request.characterID.isEmpty {
            let characterID = try Rules.id(request.characterID, field: "characterId", what: "character")
            conditions.append(CollectionStore.holding(character: characterID, user: userID))
        }
        let found = try await CollectionStore.table.page(database, owner: userID, where: conditions,
                                                         order: ListOrder("created_at", descending: true), page: page)
        return .with { $0.collections = found.items; $0.pagination = found.pagination }
    }

    public func getCollection(request: Atelier_Catalog_V1_GetCollectionRequest, context: ServerContext) async throws -> Atelier_Catalog_V1_CollectionResponse {
        let collection = try await owned(CollectionStore.table, request.collectionID, field: "collectionId")
        return .with { $0.collection = collection }
    }

    public func updateCollection(request: Atelier_Catalog_V1_UpdateCollectionRequest, context: ServerContext) async throws -> Atelier_Catalog_V1_CollectionResponse {
        let name = request.hasName ? try Rules.required(request.name, field: "name", max: 100) : nil
        let description = try Rules.text(request.description_p, field: "description", max: 1000)
        let cover = try Rules.url(request.coverImageURL, field: "coverImageUrl")
        let collection = try await changeOwned(CollectionStore.table, request.collectionID, field: "collectionId", { collection in
            if let name { collection.name = name }
            if request.hasDescription_p { if let description { collection.description_p = description } else { collection.clearDescription_p() } }
            if request.hasCoverImageURL { if let cover { collection.coverImageURL = cover } else { collection.clearCoverImageURL() } }
            if request.hasIsPublic { collection.isPublic = request.isPublic }
        }, write: CollectionStore.update)
        return .with { $0.collection = collection }
    }

    public func deleteCollection(request: Atelier_Catalog_V1_DeleteCollectionRequest, context: ServerContext) async throws -> Atelier_Catalog_V1_SuccessResponse {
        // Its memberships go with it (foreign key); the characters stay.
        try await deleteOwned(CollectionStore.table, request.collectionID, field: "collectionId")
    }

    public func listCollectionCharacters(request: Atelier_Catalog_V1_ListCollectionCharactersRequest, context: ServerContext) async throws -> Atelier_Catalog_V1_ListCharactersResponse {
        let collection = try await owned(CollectionStore.table, request.collectionID, field: "collectionId")
        let found = try await CharacterStore.inCollection(database, collection: collection, page: try Page(limit: request.limit, offset: request.offset))
        return .with { $0.characters = found.items; $0.pagination = found.pagination }
    }

    public func addCollectionCharacter(request: Atelier_Catalog_V1_AddCollectionCharacterRequest, context: ServerContext) async throws -> Atelier_Catalog_V1_CollectionResponse {
        let userID = try user()
        let id = try Rules.id(request.collectionID, field: "collectionId", what: "collection")
        let characterID = try Rules.id(request.characterID, field: "characterId", what: "character")
        let now = Date.databaseNow
        return try await database.transaction { tx in
            // The character first, then the collection: the order a character's delete takes them in.
            try await CharacterStore.table.require(tx, id: characterID, owner: userID, lock: true)
            var collection = try await CollectionStore.table.get(tx, id: id, owner: userID, lock: true)
            if try await CollectionStore.add(tx, character: characterID, to: id, user: userID, now: now) {
                collection.characterCount += 1
                collection.updatedAt = .init(date: now)
            }
            let updated = collection
            return .with { $0.collection = updated }
        }
    }

    public func removeCollectionCharacter(request: Atelier_Catalog_V1_RemoveCollectionCharacterRequest, context: ServerContext) async throws -> Atelier_Catalog_V1_CollectionResponse {
        let userID = try user()
        let id = try Rules.id(request.collectionID, field: "collectionId", what: "collection")
        let characterID = try Rules.id(request.characterID, field: "characterId", what: "character")
        let now = Date.databaseNow
        return try await database.transaction { tx in
            var collection = try await CollectionStore.table.get(tx, id: id, owner: userID, lock: true)
            try await CollectionStore.remove(tx, character: characterID, from: id, now: now)
            collection.characterCount -= 1
            collection.updatedAt = .init(date: now)
            let updated = collection
            return .with { $0.collection = updated }
        }
    }
}
