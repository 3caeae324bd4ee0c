import AtelierProtos
import Foundation
import ServiceKit

typealias Character = Atelier_Catalog_V1_Character

/// The SQL of `characters` and `character_tags`: a character's row as the API's `Character`, its
/// tags (kept beside it for filtering), and the lists that read characters (the owner's, explore,
/// a collection's).
enum CharacterStore {
    /// What an owner edits (`CharacterAttributes.apply`): written by create, PUT and PATCH alike.
    static let attributes: [MessageColumn<Character>] = [
        .text("name", \.name), .optionalText("description", \.description_p, present: \.hasDescription_p),
        .text("prompt", \.prompt), .text("style_type", \.styleType),
        .optionalText("age_range", \.ageRange, present: \.hasAgeRange), .optionalText("gender", \.gender, present: \.hasGender),
        .optionalText("ethnicity", \.ethnicity, present: \.hasEthnicity), .optionalText("body_type", \.bodyType, present: \.hasBodyType),
        .optionalText("hair_style", \.hairStyle, present: \.hasHairStyle), .optionalText("hair_color", \.hairColor, present: \.hasHairColor),
        .optionalText("eye_color", \.eyeColor, present: \.hasEyeColor), .optionalText("skin_tone", \.skinTone, present: \.hasSkinTone),
        .optionalText("occupation", \.occupation, present: \.hasOccupation), .list("personality", \.personality),
        .map("physical_traits", \.physicalTraits), .optionalText("clothing", \.clothing, present: \.hasClothing),
        .optionalText("background", \.background, present: \.hasBackground),
        .optionalText("custom_description", \.customDescription, present: \.hasCustomDescription), .list("tags", \.tags),
        .bool("is_public", \.isPublic), .bool("is_favorite", \.isFavorite),
        .optionalText("reference_image_url", \.referenceImageURL, present: \.hasReferenceImageURL),
    ]

    static let columns: [MessageColumn<Character>] = [.text("id", \.id)] + attributes + [
        .text("generation_status", \.generationStatus),
        .optionalText("image_url", \.imageURL, present: \.hasImageURL),
        .optionalText("thumbnail_url", \.thumbnailURL, present: \.hasThumbnailURL),
        .int("image_count", \.imageCount), .int("video_count", \.videoCount),
        .time("created_at", \.createdAt), .time("updated_at", \.updatedAt),
    ]

    static let table = OwnedTable<Character>("characters", columns: columns.names(), noun: "character", read: columns.read)

    /// The same columns read through a join, as `c.<name>`.
    static var qualifiedSelection: SQL {
        SQL.join(columns.names().map { "c.\($0)" }, separator: ", ")
    }

    static func insert(_ tx: any SQLExecutor, _ character: Character, user: String) async throws {
        try await table.insert(tx, try columns.values(of: character) + [
            ("user_id", .text(user)), ("search_text", .text(CharacterAttributes.searchText(character))),
        ])
        try await writeTags(tx, character: character.id, user: user, tags: character.tags)
    }

    /// Writes what the owner edits, and the time of the change.
    static func update(_ tx: any SQLExecutor, _ character: Character, user: String, now: Date) async throws {
        let assignments = try attributes.values(of: character) + [
            ("search_text", .text(CharacterAttributes.searchText(character))), ("updated_at", .time(now)),
        ]
        try await tx.query("UPDATE characters SET \(SQL.assignments(assignments)) WHERE id = \(character.id) AND user_id = \(user)")
    }

    /// Deletes a character and what goes with it (its themes, variants, media and tags follow by
    /// their foreign keys), and takes it out of its collections' counts.
    static func delete(_ tx: any SQLExecutor, id: String, user: String) async throws {
        try await tx.query("""
            UPDATE collections SET character_count = character_count - 1
            WHERE id IN (SELECT collection_id FROM collection_characters WHERE character_id = \(id))
            """)
        try await table.delete(tx, id: id, owner: user)
    }

    static func writeTags(_ tx: any SQLExecutor, character: String, user: String, tags: [String]) async throws {
        try await tx.query("DELETE FROM character_tags WHERE character_id = \(character)")
        guard !tags.isEmpty else { return }
        try await tx.query("INSERT INTO character_tags (character_id, user_id, tag) VALUES \(SQL.rows(tags.map { [.text(character), .text(user), .text($0)] }))")
    }

    /// The conditions of the owner's list: a style, favourites, words of a search and tags.
    static func filter(user: String, style: String?, favorite: Bool?, words: [String], tags: [String]) -> [SQL] {
        var conditions: [SQL] = []
        if let style { conditions.append("style_type = \(style)") }
        if let favorite { conditions.append("is_favorite = \(favorite)") }
        for word in words { conditions.append("search_text LIKE \(containing(word)) ESCAPE '\\'") }
        for tag in tags {
            conditions.append("id IN (SELECT character_id FROM character_tags WHERE user_id = \(user) AND tag = \(tag))")
        }
        return conditions
    }

    /// Everyone's public characters, optionally of one style, with the total kept per style
    /// (`PublicCounts`): counting a million public rows per page would cost more than the page.
    static func explore(_ db: any SQLExecutor, style: String?, order: ListOrder, page: Page) async throws -> PageResult<Character> {
        let total = try await db.first("SELECT count FROM public_counts WHERE style_type = \(style ?? "")")?.int("count") ?? 0
        var conditions: [SQL] = ["is_public = TRUE"]
        if let style { conditions.append("style_type = \(style)") }
        let rows = try await db.query("\(table.select) \(SQL.where(conditions)) \(order.sql()) \(page.sql)")
        return PageResult(items: try rows.map { try publicView(table.read($0)) }, total: max(total, 0), page: page)
    }

    /// What anyone may see of a public character: not the owner's own marks (favourite) nor the
    /// reference photo they generated from, which may be a picture of a person.
    static func publicView(_ character: Character) -> Character {
        var shown = character
        shown.isFavorite = false
        shown.clearReferenceImageURL()
        return shown
    }

    /// A collection's characters, most recently added first. The total is the collection's count.
    static func inCollection(_ db: any SQLExecutor, collection: Atelier_Catalog_V1_Collection, page: Page) async throws -> PageResult<Character> {
        let rows = try await db.query("""
            SELECT \(qualifiedSelection) FROM collection_characters m JOIN characters c ON c.id = m.character_id
            WHERE m.collection_id = \(collection.id) ORDER BY m.added_at DESC, m.character_id DESC \(page.sql)
            """)
        return PageResult(items: try rows.map(table.read), total: collection.characterCount, page: page)
    }

    /// A LIKE pattern for a word anywhere in a text; `\` escapes the wildcards.
    static func containing(_ word: String) -> String {
        var escaped = ""
        for character in word {
            if character == "%" || character == "_" || character == "\\" { escaped.append("\\") }
            escaped.append(character)
        }
        return "%" + escaped + "%"
    }
}
