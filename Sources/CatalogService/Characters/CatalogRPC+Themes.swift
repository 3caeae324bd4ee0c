import AtelierProtos
import Foundation
import GRPCCore
import ServiceKit

/// A character's themes ("Winter Outfits") and the variants generation adds to them.
extension CatalogRPC {
    static let themeColumns = "id, character_id, name, description, variant_count, created_at, updated_at"
    static let variantColumns = "id, theme_id, character_id, prompt, image_url, thumbnail_url, metadata, created_at"

    public func createTheme(request: Atelier_Catalog_V1_CreateThemeRequest, context: ServerContext) async throws -> Atelier_Catalog_V1_ThemeResponse {
        let userID = try user()
        let characterID = try Rules.id(request.characterID, field: "characterId", what: "character")
        let name = try Rules.required(request.name, field: "name", max: 100)
        let description = try Rules.text(request.description_p, field: "description", max: 1000)
        let id = SecureRandom.id(prefix: "thm")
        let now = Date.databaseNow
        try await Self.requireCharacter(database, id: characterID, user: userID)
        do {
            try await database.query(
                "INSERT INTO themes (id, character_id, user_id, name, description, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $6)",
                .text(id), .text(characterID), .text(userID), .text(name), .optional(description), .time(now))
        } catch DatabaseError.uniqueViolation {
            throw Self.themeNameTaken(name)
        }
        return .with { $0.theme = .with {
            $0.id = id
            $0.characterID = characterID
            $0.name = name
            if let description { $0.description_p = description }
            $0.createdAt = .init(date: now)
            $0.updatedAt = .init(date: now)
        } }
    }

    public func listThemes(request: Atelier_Catalog_V1_ListThemesRequest, context: ServerContext) async throws -> Atelier_Catalog_V1_ListThemesResponse {
        let userID = try user()
        let characterID = try Rules.id(request.characterID, field: "characterId", what: "character")
        let page = try Page(limit: request.limit, offset: request.offset)
        try await Self.requireCharacter(database, id: characterID, user: userID)
        let total = try await database.count("SELECT COUNT(*) AS n FROM themes WHERE character_id = $1", [.text(characterID)])
        let rows = try await database.query(
            "SELECT \(Self.themeColumns) FROM themes WHERE character_id = $1 ORDER BY created_at, id LIMIT $2 OFFSET $3",
            .text(characterID), .int(Int64(page.limit)), .int(Int64(page.offset)))
        let themes = try rows.map(Self.theme)
        return .with {
            $0.themes = themes
            $0.pagination = page.pagination(total: total)
        }
    }

    public func getTheme(request: Atelier_Catalog_V1_GetThemeRequest, context: ServerContext) async throws -> Atelier_Catalog_V1_ThemeResponse {
        let userID = try user()
        let id = try Rules.id(request.themeID, field: "themeId", what: "theme")
        let theme = try await Self.theme(database, id: id, user: userID)
        return .with { $0.theme = theme }
    }

    public func updateTheme(request: Atelier_Catalog_V1_UpdateThemeRequest, context: ServerContext) async throws -> Atelier_Catalog_V1_ThemeResponse {
        let userID = try user()
        let id = try Rules.id(request.themeID, field: "themeId", what: "theme")
        let name = request.hasName ? try Rules.required(request.name, field: "name", max: 100) : nil
        let description = request.hasDescription_p ? try Rules.text(request.description_p, field: "description", max: 1000) : nil
        let now = Date.databaseNow
        var theme = try await Self.theme(database, id: id, user: userID)
        if let name { theme.name = name }
        if request.hasDescription_p {
            if let description { theme.description_p = description } else { theme.clearDescription_p() }
        }
        theme.updatedAt = .init(date: now)
        do {
            try await database.query(
                "UPDATE themes SET name = $1, description = $2, updated_at = $3 WHERE id = $4 AND user_id = $5",
                .text(theme.name), theme.hasDescription_p ? .text(theme.description_p) : .null, .time(now), .text(id), .text(userID))
        } catch DatabaseError.uniqueViolation {
            throw Self.themeNameTaken(theme.name)
        }
        return .with { $0.theme = theme }
    }

    public func deleteTheme(request: Atelier_Catalog_V1_DeleteThemeRequest, context: ServerContext) async throws -> Atelier_Catalog_V1_SuccessResponse {
        let userID = try user()
        let id = try Rules.id(request.themeID, field: "themeId", what: "theme")
        try await database.transaction { tx in
            guard !(try await tx.query("DELETE FROM themes WHERE id = $1 AND user_id = $2 RETURNING id", .text(id), .text(userID))).isEmpty else {
                throw ServiceError.notFound("theme")
            }
            try await tx.query("DELETE FROM variants WHERE theme_id = $1", .text(id))
        }
        return .with { $0.success = true }
    }

    public func listVariants(request: Atelier_Catalog_V1_ListVariantsRequest, context: ServerContext) async throws -> Atelier_Catalog_V1_ListVariantsResponse {
        let userID = try user()
        let themeID = try Rules.id(request.themeID, field: "themeId", what: "theme")
        let page = try Page(limit: request.limit, offset: request.offset)
        let theme = try await Self.theme(database, id: themeID, user: userID)
        let rows = try await database.query(
            "SELECT \(Self.variantColumns) FROM variants WHERE theme_id = $1 ORDER BY created_at DESC, id DESC LIMIT $2 OFFSET $3",
            .text(themeID), .int(Int64(page.limit)), .int(Int64(page.offset)))
        let variants = try rows.map(Self.variant)
        return .with {
            $0.variants = variants
            $0.pagination = page.pagination(total: theme.variantCount)
        }
    }

    public func deleteVariant(request: Atelier_Catalog_V1_DeleteVariantRequest, context: ServerContext) async throws -> Atelier_Catalog_V1_SuccessResponse {
        let userID = try user()
        let id = try Rules.id(request.id, field: "id", what: "variant")
        try await database.transaction { tx in
            guard let row = try await tx.first("DELETE FROM variants WHERE id = $1 AND user_id = $2 RETURNING theme_id", .text(id), .text(userID)) else {
                throw ServiceError.notFound("variant")
            }
            try await tx.query("UPDATE themes SET variant_count = variant_count - 1 WHERE id = $1", .text(try row.string("theme_id")))
        }
        return .with { $0.success = true }
    }

    public func addVariant(request: Atelier_Catalog_V1_AddVariantRequest, context: ServerContext) async throws -> Atelier_Catalog_V1_VariantResponse {
        let userID = try serviceSubject(request.userID)
        let themeID = try Rules.id(request.themeID, field: "themeId", what: "theme")
        let prompt = try Rules.required(request.prompt, field: "prompt", max: 4000)
        let imageURL = try Rules.url(request.hasImageURL ? request.imageURL : nil, field: "imageUrl")
        let thumbnailURL = try Rules.url(request.hasThumbnailURL ? request.thumbnailURL : nil, field: "thumbnailUrl")
        let metadata = try Rules.map(request.metadata, field: "metadata")
        let key = try Rules.idempotencyKey(request.idempotencyKey)
        let id = SecureRandom.id(prefix: "var")
        let now = Date.databaseNow
        let database = database
        return try await idempotent(key, existing: {
            guard let key, let row = try await database.first(
                "SELECT \(Self.variantColumns) FROM variants WHERE user_id = $1 AND idempotency_key = $2", .text(userID), .text(key))
            else { return nil }
            let variant = try Self.variant(row)
            return Atelier_Catalog_V1_VariantResponse.with { $0.variant = variant }
        }, create: {
            try await database.transaction { tx in
                let theme = try await Self.theme(tx, id: themeID, user: userID)
                try await tx.query("""
                    INSERT INTO variants (id, theme_id, character_id, user_id, prompt, image_url, thumbnail_url, metadata, idempotency_key, created_at)
                    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
                    """, .text(id), .text(themeID), .text(theme.characterID), .text(userID), .text(prompt), .optional(imageURL),
                    .optional(thumbnailURL), JSONColumn.encode(metadata), .optional(key), .time(now))
                try await tx.query("UPDATE themes SET variant_count = variant_count + 1, updated_at = $2 WHERE id = $1", .text(themeID), .time(now))
                return .with { $0.variant = .with {
                    $0.id = id
                    $0.themeID = themeID
                    $0.characterID = theme.characterID
                    $0.prompt = prompt
                    if let imageURL { $0.imageURL = imageURL }
                    if let thumbnailURL { $0.thumbnailURL = thumbnailURL }
                    $0.metadata = metadata
                    $0.createdAt = .init(date: now)
                } }
            }
        })
    }

    // MARK: Rows

    static func theme(_ db: any SQLExecutor, id: String, user: String) async throws -> Atelier_Catalog_V1_Theme {
        guard let row = try await db.first("SELECT \(themeColumns) FROM themes WHERE id = $1 AND user_id = $2", .text(id), .text(user)) else {
            throw ServiceError.notFound("theme")
        }
        return try theme(row)
    }

    static func theme(_ row: SQLRow) throws -> Atelier_Catalog_V1_Theme {
        var theme = Atelier_Catalog_V1_Theme()
        theme.id = try row.string("id")
        theme.characterID = try row.string("character_id")
        theme.name = try row.string("name")
        if let description = try row.optionalString("description") { theme.description_p = description }
        theme.variantCount = try row.int("variant_count")
        theme.createdAt = try row.timestamp("created_at")
        theme.updatedAt = try row.timestamp("updated_at")
        return theme
    }

    static func variant(_ row: SQLRow) throws -> Atelier_Catalog_V1_Variant {
        var variant = Atelier_Catalog_V1_Variant()
        variant.id = try row.string("id")
        variant.themeID = try row.string("theme_id")
        variant.characterID = try row.string("character_id")
        variant.prompt = try row.string("prompt")
        if let url = try row.optionalString("image_url") { variant.imageURL = url }
        if let url = try row.optionalString("thumbnail_url") { variant.thumbnailURL = url }
        variant.metadata = try JSONColumn.map(row, "metadata")
        variant.createdAt = try row.timestamp("created_at")
        return variant
    }

    static func themeNameTaken(_ name: String) -> ServiceError {
        ServiceError(.alreadyExists, reason: "THEME_EXISTS", "this character already has a theme named '\(name)'", field: "name")
    }
}
