import AtelierProtos
import Foundation
import GRPCCore
import ServiceKit

extension CatalogRPC {
    public func createCharacter(request: Atelier_Catalog_V1_CreateCharacterRequest, context: ServerContext) async throws -> Atelier_Catalog_V1_CharacterResponse {
        let (userID, _, principal) = try Caller.user()
        var character = try CharacterAttributes.apply(request.character, to: Character(), replace: true)
        character.id = SecureRandom.id(prefix: "chr")
        let now = Date.databaseNow
        character.generationStatus = "pending"
        character.createdAt = .init(date: now)
        character.updatedAt = .init(date: now)
        let created = character
        let cap = CharacterCap(principal.hasEntitlements && !principal.entitlements.plan.isEmpty ? principal.entitlements : nil)
        return try await database.transaction { tx in
            try await cap.take(tx, user: userID)
            try await CharacterStore.insert(tx, created, user: userID)
            try await PublicCounts.change(tx, from: nil, to: created.isPublic ? created.styleType : nil)
            return .with { $0.character = created }
        }
    }

    public func getCharacter(request: Atelier_Catalog_V1_GetCharacterRequest, context: ServerContext) async throws -> Atelier_Catalog_V1_CharacterResponse {
        let character = try await owned(CharacterStore.table, request.characterID, field: "characterId")
        return .with { $0.character = character }
    }

    /// Several users' characters at once (generation's submits that arrive together), each read
    /// as its owner reads it; empty where the user has no such character. An id that cannot be
    /// one reads as not found too (no row has the empty id), so one bad submit does not fail the
    /// others' read.
    public func getCharacters(request: Atelier_Catalog_V1_GetCharactersRequest,
                              context: ServerContext) async throws -> Atelier_Catalog_V1_GetCharactersResponse {
        try serviceBatch(request.characters.count, of: "characters")
        let keys = try request.characters.map { wanted in
            (id: (try? Rules.id(wanted.characterID, field: "characterId", what: "character")) ?? "", owner: try Rules.userID(wanted.userID))
        }
        let found = try await CharacterStore.table.find(database, each: keys)
        return .with { $0.characters = found.map { $0 ?? Character() } }
    }

    public func replaceCharacter(request: Atelier_Catalog_V1_UpdateCharacterRequest, context: ServerContext) async throws -> Atelier_Catalog_V1_CharacterResponse {
        try await update(request, replace: true)
    }

    public func updateCharacter(request: Atelier_Catalog_V1_UpdateCharacterRequest, context: ServerContext) async throws -> Atelier_Catalog_V1_CharacterResponse {
        try await update(request, replace: false)
    }

    private func update(_ request: Atelier_Catalog_V1_UpdateCharacterRequest, replace: Bool) async throws -> Atelier_Catalog_V1_CharacterResponse {
        let character = try await changeOwned(CharacterStore.table, request.characterID, field: "characterId", { character in
            character = try CharacterAttributes.apply(request.character, to: character, replace: replace)
        }, write: { tx, current, next, user in
            try await CharacterStore.update(tx, next, user: user, now: next.updatedAt.date)
            if next.tags != current.tags { try await CharacterStore.writeTags(tx, character: next.id, user: user, tags: next.tags) }
            try await PublicCounts.change(tx, from: current.isPublic ? current.styleType : nil, to: next.isPublic ? next.styleType : nil)
        })
        return .with { $0.character = character }
    }

    public func deleteCharacter(request: Atelier_Catalog_V1_DeleteCharacterRequest, context: ServerContext) async throws -> Atelier_Catalog_V1_SuccessResponse {
        let userID = try user()
        let id = try Rules.id(request.characterID, field: "characterId", what: "character")
        try await database.transaction { tx in
            let current = try await CharacterStore.table.get(tx, id: id, owner: userID, lock: true)
            try await CharacterStore.delete(tx, id: id, user: userID)
            try await CharacterCap.release(tx, user: userID)
            try await PublicCounts.change(tx, from: current.isPublic ? current.styleType : nil, to: nil)
        }
        return .with { $0.success = true }
    }

    public func listCharacters(request: Atelier_Catalog_V1_ListCharactersRequest, context: ServerContext) async throws -> Atelier_Catalog_V1_ListCharactersResponse {
        let userID = try user()
        let page = try Page(limit: request.limit, offset: request.offset)
        let order = try ListOrder(sortBy: request.sortBy, order: request.sortOrder,
                                  fields: ["createdAt": "created_at", "updatedAt": "updated_at", "name": "name"])
        let style = request.styleType.isEmpty ? nil
            : try Rules.oneOf(request.styleType, field: "styleType", allowed: CharacterAttributes.styleTypes)
        let query = try Rules.text(request.q, field: "q", max: 200) ?? ""
        let words = query.lowercased().split(whereSeparator: \.isWhitespace).prefix(10).map(String.init)
        let tags = try Rules.list(request.tag.map { $0.lowercased() }, field: "tag", maxItems: 10, maxLength: 50)
        let filter = CharacterStore.filter(user: userID, style: style, favorite: request.hasIsFavorite ? request.isFavorite : nil,
                                           words: words, tags: tags)
        let found = try await CharacterStore.table.page(database, owner: userID, where: filter, order: order, page: page)
        return .with { $0.characters = found.items; $0.pagination = found.pagination }
    }

    public func exploreCharacters(request: Atelier_Catalog_V1_ExploreCharactersRequest, context: ServerContext) async throws -> Atelier_Catalog_V1_ListCharactersResponse {
        guard Caller.principal != nil else { throw ServiceError.unauthenticated("this call needs a principal") }
        let page = try Page(limit: request.limit, offset: request.offset)
        let order = try ListOrder(sortBy: request.sortBy, order: request.sortOrder, fields: ["createdAt": "created_at", "name": "name"])
        let style = request.styleType.isEmpty ? nil
            : try Rules.oneOf(request.styleType, field: "styleType", allowed: CharacterAttributes.styleTypes)
        let found = try await CharacterStore.explore(database, style: style, order: order, page: page)
        return .with { $0.characters = found.items; $0.pagination = found.pagination }
    }
}
