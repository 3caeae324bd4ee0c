import AtelierProtos
import Foundation
import GRPCCore
import ServiceKit

extension CatalogRPC {
    public func createCharacter(request: Atelier_Catalog_V1_CreateCharacterRequest, context: ServerContext) async throws -> Atelier_Catalog_V1_CharacterResponse {
        let (userID, _, principal) = try Caller.user()
        var character = try CharacterRecord.apply(request.character, to: Atelier_Catalog_V1_Character(), replace: true)
        character.id = SecureRandom.id(prefix: "chr")
        let now = Date.databaseNow
        character.generationStatus = "pending"
        character.createdAt = .init(date: now)
        character.updatedAt = .init(date: now)
        let created = character
        let cap = CharacterCap(principal.hasEntitlements && !principal.entitlements.plan.isEmpty ? principal.entitlements : nil)
        return try await database.transaction { tx in
            try await cap.take(tx, user: userID)
            let columns = CharacterRecord.writableColumns + ["id", "user_id", "generation_status", "created_at", "updated_at"]
            let values = CharacterRecord.values(created) + [.text(created.id), .text(userID), .text("pending"), .time(now), .time(now)]
            let placeholders = (1...values.count).map { "$\($0)" }.joined(separator: ", ")
            try await tx.query("INSERT INTO characters (\(columns.joined(separator: ", "))) VALUES (\(placeholders))", values)
            try await Self.writeTags(tx, character: created.id, user: userID, tags: created.tags)
            try await PublicCounts.change(tx, from: nil, to: created.isPublic ? created.styleType : nil)
            return .with { $0.character = created }
        }
    }

    public func getCharacter(request: Atelier_Catalog_V1_GetCharacterRequest, context: ServerContext) async throws -> Atelier_Catalog_V1_CharacterResponse {
        let userID = try user()
        let id = try Rules.id(request.characterID, field: "characterId", what: "character")
        let character = try await Self.character(database, id: id, user: userID)
        return .with { $0.character = character }
    }

    public func replaceCharacter(request: Atelier_Catalog_V1_UpdateCharacterRequest, context: ServerContext) async throws -> Atelier_Catalog_V1_CharacterResponse {
        try await update(request, replace: true)
    }

    public func updateCharacter(request: Atelier_Catalog_V1_UpdateCharacterRequest, context: ServerContext) async throws -> Atelier_Catalog_V1_CharacterResponse {
        try await update(request, replace: false)
    }

    private func update(_ request: Atelier_Catalog_V1_UpdateCharacterRequest, replace: Bool) async throws -> Atelier_Catalog_V1_CharacterResponse {
        let userID = try user()
        let id = try Rules.id(request.characterID, field: "characterId", what: "character")
        let now = Date.databaseNow
        return try await database.transaction { tx in
            let current = try await Self.character(tx, id: id, user: userID, forUpdate: true)
            let next = try CharacterRecord.apply(request.character, to: current, replace: replace)
            let assignments = CharacterRecord.writableColumns.enumerated().map { "\($1) = $\($0 + 1)" }.joined(separator: ", ")
            var values = CharacterRecord.values(next)
            values += [.time(now), .text(id), .text(userID)]
            let n = values.count
            try await tx.query("UPDATE characters SET \(assignments), updated_at = $\(n - 2) WHERE id = $\(n - 1) AND user_id = $\(n)", values)
            if next.tags != current.tags { try await Self.writeTags(tx, character: id, user: userID, tags: next.tags) }
            try await PublicCounts.change(tx, from: current.isPublic ? current.styleType : nil, to: next.isPublic ? next.styleType : nil)
            var reply = next
            reply.updatedAt = .init(date: now)
            return .with { $0.character = reply }
        }
    }

    public func deleteCharacter(request: Atelier_Catalog_V1_DeleteCharacterRequest, context: ServerContext) async throws -> Atelier_Catalog_V1_SuccessResponse {
        let userID = try user()
        let id = try Rules.id(request.characterID, field: "characterId", what: "character")
        try await database.transaction { tx in
            let current = try await Self.character(tx, id: id, user: userID, forUpdate: true)
            try await tx.query("""
                UPDATE collections SET character_count = character_count - 1
                WHERE id IN (SELECT collection_id FROM collection_characters WHERE character_id = $1)
                """, .text(id))
            for table in ["collection_characters", "character_tags", "variants", "themes", "media"] {
                try await tx.query("DELETE FROM \(table) WHERE character_id = $1", .text(id))
            }
            try await tx.query("DELETE FROM characters WHERE id = $1", .text(id))
            try await tx.query("UPDATE owners SET characters = characters - 1 WHERE user_id = $1 AND characters > 0", .text(userID))
            try await PublicCounts.change(tx, from: current.isPublic ? current.styleType : nil, to: nil)
        }
        return .with { $0.success = true }
    }

    public func listCharacters(request: Atelier_Catalog_V1_ListCharactersRequest, context: ServerContext) async throws -> Atelier_Catalog_V1_ListCharactersResponse {
        let userID = try user()
        let page = try Page(limit: request.limit, offset: request.offset)
        let order = try SortOrder(sortBy: request.sortBy, order: request.sortOrder,
                                  fields: ["createdAt": "created_at", "updatedAt": "updated_at", "name": "name"])
        var filter = Filter()
        filter.add("user_id = ?", .text(userID))
        if !request.styleType.isEmpty {
            filter.add("style_type = ?", .text(try Rules.oneOf(request.styleType, field: "styleType", allowed: CharacterRecord.styleTypes)))
        }
        if request.hasIsFavorite { filter.add("is_favorite = ?", .bool(request.isFavorite)) }
        let query = try Rules.text(request.q, field: "q", max: 200) ?? ""
        let words = query.lowercased().split(whereSeparator: \.isWhitespace).prefix(10)
        for word in words { filter.add("search_text LIKE ? ESCAPE '\\'", .text(Filter.contains(String(word)))) }
        let tags = try Rules.list(request.tag.map { $0.lowercased() }, field: "tag", maxItems: 10, maxLength: 50)
        for tag in tags {
            filter.add("id IN (SELECT character_id FROM character_tags WHERE user_id = ? AND tag = ?)", .text(userID), .text(tag))
        }
        let found = try await database.page(CharacterRecord.columns, from: "characters", filter: filter, order: order.sql(), page: page,
                                            CharacterRecord.character)
        return .with {
            $0.characters = found.items
            $0.pagination = page.pagination(total: found.total)
        }
    }

    public func exploreCharacters(request: Atelier_Catalog_V1_ExploreCharactersRequest, context: ServerContext) async throws -> Atelier_Catalog_V1_ListCharactersResponse {
        guard Caller.principal != nil else { throw ServiceError.unauthenticated("this call needs a principal") }
        let page = try Page(limit: request.limit, offset: request.offset)
        let order = try SortOrder(sortBy: request.sortBy, order: request.sortOrder, fields: ["createdAt": "created_at", "name": "name"])
        var filter = Filter()
        filter.add("is_public = TRUE")
        var style = ""
        if !request.styleType.isEmpty {
            style = try Rules.oneOf(request.styleType, field: "styleType", allowed: CharacterRecord.styleTypes)
            filter.add("style_type = ?", .text(style))
        }
        // The total is kept per style as characters turn public or private: counting a million
        // public rows per page would cost more than the page.
        let total = try await database.first("SELECT count FROM public_counts WHERE style_type = $1", .text(style))?.int("count") ?? 0
        let rows = try await database.query(
            "SELECT \(CharacterRecord.columns) FROM characters \(filter.sql) \(order.sql()) LIMIT $\(filter.next) OFFSET $\(filter.next + 1)",
            filter.binds + [.int(Int64(page.limit)), .int(Int64(page.offset))])
        let characters = try rows.map(CharacterRecord.character)
        return .with {
            $0.characters = characters
            $0.pagination = page.pagination(total: max(total, 0))
        }
    }

    // MARK: Shared

    /// The caller's character, or NotFound. `forUpdate` locks the row for the transaction.
    static func character(_ db: any SQLExecutor, id: String, user: String, forUpdate: Bool = false) async throws -> Atelier_Catalog_V1_Character {
        let lock = forUpdate && db.dialect == .postgres ? " FOR UPDATE" : ""
        guard let row = try await db.first("SELECT \(CharacterRecord.columns) FROM characters WHERE id = $1 AND user_id = $2\(lock)", .text(id), .text(user)) else {
            throw ServiceError.notFound("character")
        }
        return try CharacterRecord.character(row)
    }

    /// Checks the caller owns a character (for routes that hang things off it).
    static func requireCharacter(_ db: any SQLExecutor, id: String, user: String) async throws {
        guard try await db.first("SELECT id FROM characters WHERE id = $1 AND user_id = $2", .text(id), .text(user)) != nil else {
            throw ServiceError.notFound("character")
        }
    }

    static func writeTags(_ tx: any SQLExecutor, character: String, user: String, tags: [String]) async throws {
        try await tx.query("DELETE FROM character_tags WHERE character_id = $1", .text(character))
        for tag in tags {
            try await tx.query("INSERT INTO character_tags (character_id, user_id, tag) VALUES ($1, $2, $3)", .text(character), .text(user), .text(tag))
        }
    }
}
