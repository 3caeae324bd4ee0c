import AtelierProtos
import Foundation
import ServiceKit

typealias Theme = Atelier_Catalog_V1_Theme
typealias Variant = Atelier_Catalog_V1_Variant

/// The SQL of `themes` and their `variants`. A theme belongs to a character and goes with it; a
/// variant belongs to a theme and goes with it (foreign keys). A theme keeps its variant count.
enum ThemeStore {
    static let columns: [MessageColumn<Theme>] = [
        .text("id", \.id), .text("character_id", \.characterID), .text("name", \.name),
        .optionalText("description", \.description_p, present: \.hasDescription_p),
        .int("variant_count", \.variantCount), .time("created_at", \.createdAt), .time("updated_at", \.updatedAt),
    ]
    static let table = OwnedTable<Theme>("themes", columns: columns.names(), noun: "theme", read: columns.read)

    static let variantColumns: [MessageColumn<Variant>] = [
        .text("id", \.id), .text("theme_id", \.themeID), .text("character_id", \.characterID), .text("prompt", \.prompt),
        .optionalText("image_url", \.imageURL, present: \.hasImageURL),
        .optionalText("thumbnail_url", \.thumbnailURL, present: \.hasThumbnailURL),
        .map("metadata", \.metadata), .time("created_at", \.createdAt),
    ]
    static let variants = OwnedTable<Variant>("variants", columns: variantColumns.names(), noun: "variant", read: variantColumns.read)

    /// Adds a theme to the owner's character. The character's row is locked while the theme is
    /// written, so a delete of the character runs before (the theme is refused) or after (the
    /// theme goes with it): no theme outlives its character.
    static func insert(_ tx: any SQLExecutor, _ theme: Theme, user: String) async throws {
        try await CharacterStore.table.require(tx, id: theme.characterID, owner: user, lock: true)
        do {
            try await table.insert(tx, try columns.values(of: theme) + [("user_id", .text(user))])
        } catch DatabaseError.uniqueViolation {
            throw nameTaken(theme.name)
        } catch DatabaseError.foreignKeyViolation {
            throw CharacterStore.table.notFound
        }
    }

    @Sendable static func update(_ db: any SQLExecutor, _ theme: Theme, user: String) async throws {
        do {
            try await db.query("""
                UPDATE themes SET name = \(theme.name), description = \(theme.hasDescription_p ? theme.description_p : nil),
                       updated_at = \(theme.updatedAt.date) WHERE id = \(theme.id) AND user_id = \(user)
                """)
        } catch DatabaseError.uniqueViolation {
            throw nameTaken(theme.name)
        }
    }

    /// A character's themes, oldest first.
    static func ofCharacter(_ db: any SQLExecutor, character: String, user: String, page: Page) async throws -> PageResult<Theme> {
        try await table.page(db, owner: user, where: ["character_id = \(character)"], order: ListOrder("created_at", descending: false),
                             page: page)
    }

    /// A theme's variants, newest first; the total is the theme's count.
    static func variants(of theme: Theme, user: String, _ db: any SQLExecutor, page: Page) async throws -> PageResult<Variant> {
        let rows = try await db.query("""
            \(variants.select) WHERE theme_id = \(theme.id) AND user_id = \(user) \(ListOrder("created_at", descending: true).sql()) \(page.sql)
            """)
        return PageResult(items: try rows.map(variants.read), total: theme.variantCount, page: page)
    }

    /// Adds a variant to the owner's theme (locked for its count) and counts it; the variant is
    /// of the theme's character.
    static func addVariant(_ tx: any SQLExecutor, _ draft: Variant, user: String, key: String?) async throws -> Variant {
        var variant = draft
        variant.characterID = try await table.get(tx, id: draft.themeID, owner: user, lock: true).characterID
        try await variants.insert(tx, try variantColumns.values(of: variant) + [("user_id", .text(user)), ("idempotency_key", .optional(key))])
        try await tx.query("""
            UPDATE themes SET variant_count = variant_count + 1, updated_at = \(variant.createdAt.date) WHERE id = \(variant.themeID)
            """)
        return variant
    }

    static func deleteVariant(_ tx: any SQLExecutor, id: String, user: String) async throws {
        let row = try await variants.delete(tx, id: id, owner: user, returning: ["theme_id"])
        try await tx.query("UPDATE themes SET variant_count = variant_count - 1 WHERE id = \(try row.string("theme_id"))")
    }

    static func nameTaken(_ name: String) -> ServiceError {
        ServiceError(.alreadyExists, reason: "THEME_EXISTS", "this character already has a theme named '\(name)'", field: "name")
    }
}
