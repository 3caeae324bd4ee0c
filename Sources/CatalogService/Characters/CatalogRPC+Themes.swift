import AtelierProtos
import Foundation
import GRPCCore
import ServiceKit

/// A character's themes ("Winter Outfits") and the variants generation adds to them.
extension CatalogRPC {
    public func createTheme(request: Atelier_Catalog_V1_CreateThemeRequest, context: ServerContext) async throws -> Atelier_Catalog_V1_ThemeResponse {
        let userID = try user()
        let now = Date.databaseNow
        var theme = Theme.with {
            $0.id = SecureRandom.id(prefix: "thm")
            $0.createdAt = .init(date: now)
            $0.updatedAt = .init(date: now)
        }
        theme.characterID = try Rules.id(request.characterID, field: "characterId", what: "character")
        theme.name = try Rules.required(request.name, field: "name", max: 100)
        if let description = try Rules.text(request.description_p, field: "description", max: 1000) { theme.description_p = description }
        let created = theme
        try await database.transaction { tx in try await ThemeStore.insert(tx, created, user: userID) }
        return .with { $0.theme = created }
    }

    public func listThemes(request: Atelier_Catalog_V1_ListThemesRequest, context: ServerContext) async throws -> Atelier_Catalog_V1_ListThemesResponse {
        let character = try await owned(CharacterStore.table, request.characterID, field: "characterId")
        let found = try await ThemeStore.ofCharacter(database, character: character.id, user: try user(),
                                                     page: try Page(limit: request.limit, offset: request.offset))
        return .with { $0.themes = found.items; $0.pagination = found.pagination }
    }

    public func getTheme(request: Atelier_Catalog_V1_GetThemeRequest, context: ServerContext) async throws -> Atelier_Catalog_V1_ThemeResponse {
        let theme = try await owned(ThemeStore.table, request.themeID, field: "themeId")
        return .with { $0.theme = theme }
    }

    public func updateTheme(request: Atelier_Catalog_V1_UpdateThemeRequest, context: ServerContext) async throws -> Atelier_Catalog_V1_ThemeResponse {
        let name = request.hasName ? try Rules.required(request.name, field: "name", max: 100) : nil
        let description = request.hasDescription_p ? try Rules.text(request.description_p, field: "description", max: 1000) : nil
        let theme = try await changeOwned(ThemeStore.table, request.themeID, field: "themeId", { theme in
            if let name { theme.name = name }
            guard request.hasDescription_p else { return }
            if let description { theme.description_p = description } else { theme.clearDescription_p() }
        }, write: ThemeStore.update)
        return .with { $0.theme = theme }
    }

    public func deleteTheme(request: Atelier_Catalog_V1_DeleteThemeRequest, context: ServerContext) async throws -> Atelier_Catalog_V1_SuccessResponse {
        try await deleteOwned(ThemeStore.table, request.themeID, field: "themeId")
    }

    public func listVariants(request: Atelier_Catalog_V1_ListVariantsRequest, context: ServerContext) async throws -> Atelier_Catalog_V1_ListVariantsResponse {
        let theme = try await owned(ThemeStore.table, request.themeID, field: "themeId")
        let found = try await ThemeStore.variants(of: theme, user: try user(), database,
                                                  page: try Page(limit: request.limit, offset: request.offset))
        return .with { $0.variants = found.items; $0.pagination = found.pagination }
    }

    public func deleteVariant(request: Atelier_Catalog_V1_DeleteVariantRequest, context: ServerContext) async throws -> Atelier_Catalog_V1_SuccessResponse {
        let userID = try user()
        let id = try Rules.id(request.id, field: "id", what: "variant")
        try await database.transaction { tx in try await ThemeStore.deleteVariant(tx, id: id, user: userID) }
        return .with { $0.success = true }
    }

    public func addVariant(request: Atelier_Catalog_V1_AddVariantRequest, context: ServerContext) async throws -> Atelier_Catalog_V1_VariantResponse {
        let userID = try serviceSubject(request.userID)
        var variant = Variant.with {
            $0.id = SecureRandom.id(prefix: "var")
            $0.createdAt = .init(date: Date.databaseNow)
        }
        variant.themeID = try Rules.id(request.themeID, field: "themeId", what: "theme")
        variant.prompt = try Rules.required(request.prompt, field: "prompt", max: 4000)
        if let url = try Rules.url(request.hasImageURL ? request.imageURL : nil, field: "imageUrl") { variant.imageURL = url }
        if let url = try Rules.url(request.hasThumbnailURL ? request.thumbnailURL : nil, field: "thumbnailUrl") { variant.thumbnailURL = url }
        variant.metadata = try Rules.map(request.metadata, field: "metadata")
        let key = try Rules.idempotencyKey(request.idempotencyKey)
        let draft = variant
        let added = try await createOnce(ThemeStore.variants, owner: userID, key: key) { tx in
            try await ThemeStore.addVariant(tx, draft, user: userID, key: key)
        }
        return .with { $0.variant = added }
    }
}
