import AtelierProtos
import Foundation
import GRPCCore
import ServiceKit
import SwiftProtobuf

/// Story heroes (PRD 6.2). A hero keeps its story count in step with its stories; deleting a
/// hero keeps the stories, unlinked.
extension CatalogRPC {
    /// The traits a hero may have. The PRD asks for "1-5 strings from valid list" without giving
    /// the list; these are the ones a bedtime-story app's picker offers (README, "Choices").
    static let heroTraits = [
        "adventurous", "brave", "calm", "caring", "cheerful", "clever", "creative", "curious", "determined", "energetic",
        "friendly", "funny", "gentle", "helpful", "honest", "imaginative", "kind", "loyal", "patient", "playful",
        "shy", "silly", "smart", "thoughtful", "wise",
    ]
    static let heroColumns = """
        id, name, age, traits, appearance, abilities, avatar_url, avatar_prompt, avatar_generation_id, visual_profile, \
        story_count, created_at, updated_at
        """

    public func listHeroes(request: Atelier_Catalog_V1_ListHeroesRequest, context: ServerContext) async throws -> Atelier_Catalog_V1_ListHeroesResponse {
        let userID = try user()
        let page = try Page(limit: request.limit, offset: request.offset)
        let order = try SortOrder(sortBy: request.sortBy, order: request.sortOrder, fields: ["createdAt": "created_at", "name": "name"])
        var filter = Filter()
        filter.add("user_id = ?", .text(userID))
        let found = try await database.page(Self.heroColumns, from: "heroes", filter: filter, order: order.sql(), page: page, Self.hero)
        return .with {
            $0.heroes = found.items
            $0.pagination = page.pagination(total: found.total)
        }
    }

    public func createHero(request: Atelier_Catalog_V1_CreateHeroRequest, context: ServerContext) async throws -> Atelier_Catalog_V1_HeroResponse {
        let userID = try user()
        var hero = Atelier_Catalog_V1_Hero()
        hero.id = SecureRandom.id(prefix: "hero")
        hero.name = try Rules.required(request.name, field: "name", max: 100)
        hero.age = try Self.heroAge(request.age)
        hero.traits = try Self.heroTraits(request.traits)
        hero.appearance = try Rules.required(request.appearance, field: "appearance", max: 500)
        hero.abilities = try Self.heroAbilities(request.abilities)
        let now = Date.databaseNow
        hero.createdAt = .init(date: now)
        hero.updatedAt = .init(date: now)
        try await database.query("""
            INSERT INTO heroes (id, user_id, name, age, traits, appearance, abilities, created_at, updated_at)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8)
            """, .text(hero.id), .text(userID), .text(hero.name), .int(Int64(hero.age)), JSONColumn.encode(hero.traits),
            .text(hero.appearance), JSONColumn.encode(hero.abilities), .time(now))
        return .with { $0.hero = hero }
    }

    public func getHero(request: Atelier_Catalog_V1_GetHeroRequest, context: ServerContext) async throws -> Atelier_Catalog_V1_HeroResponse {
        let userID = try user()
        let id = try Rules.id(request.heroID, field: "heroId", what: "hero")
        guard (0...50).contains(request.storyLimit) else { throw ServiceError.invalid("storyLimit", "storyLimit must be 1 to 50") }
        var hero = try await Self.hero(database, id: id, user: userID)
        if request.includeStories {
            let rows = try await database.query(
                "SELECT id, title, created_at FROM stories WHERE hero_id = $1 ORDER BY created_at DESC, id DESC LIMIT $2",
                .text(id), .int(Int64(request.storyLimit == 0 ? 10 : request.storyLimit)))
            hero.stories = try rows.map { row in
                var story = Atelier_Catalog_V1_HeroStory()
                story.id = try row.string("id")
                story.title = try row.string("title")
                story.createdAt = try row.timestamp("created_at")
                return story
            }
        }
        return .with { $0.hero = hero }
    }

    public func updateHero(request: Atelier_Catalog_V1_UpdateHeroRequest, context: ServerContext) async throws -> Atelier_Catalog_V1_HeroResponse {
        let userID = try user()
        let id = try Rules.id(request.heroID, field: "heroId", what: "hero")
        let name = request.hasName ? try Rules.required(request.name, field: "name", max: 100) : nil
        let age = request.hasAge ? try Self.heroAge(request.age) : nil
        let traits = request.traits.isEmpty ? nil : try Self.heroTraits(request.traits)
        let appearance = request.hasAppearance ? try Rules.required(request.appearance, field: "appearance", max: 500) : nil
        let abilities = request.abilities.isEmpty && !request.clearAbilities_p ? nil : try Self.heroAbilities(request.abilities)
        let now = Date.databaseNow
        return try await database.transaction { tx in
            var hero = try await Self.hero(tx, id: id, user: userID)
            if let name { hero.name = name }
            if let age { hero.age = age }
            if let traits { hero.traits = traits }
            if let appearance { hero.appearance = appearance }
            if let abilities { hero.abilities = abilities }
            hero.updatedAt = .init(date: now)
            try await tx.query("""
                UPDATE heroes SET name = $1, age = $2, traits = $3, appearance = $4, abilities = $5, updated_at = $6
                WHERE id = $7 AND user_id = $8
                """, .text(hero.name), .int(Int64(hero.age)), JSONColumn.encode(hero.traits), .text(hero.appearance),
                JSONColumn.encode(hero.abilities), .time(now), .text(id), .text(userID))
            return .with { $0.hero = hero }
        }
    }

    public func deleteHero(request: Atelier_Catalog_V1_DeleteHeroRequest, context: ServerContext) async throws -> Atelier_Catalog_V1_DeleteHeroResponse {
        let userID = try user()
        let id = try Rules.id(request.heroID, field: "heroId", what: "hero")
        let affected = try await database.transaction { tx in
            guard !(try await tx.query("DELETE FROM heroes WHERE id = $1 AND user_id = $2 RETURNING id", .text(id), .text(userID))).isEmpty else {
                throw ServiceError.notFound("hero")
            }
            // The stories stay the user's; they just no longer name a hero.
            return try await tx.query("UPDATE stories SET hero_id = NULL WHERE hero_id = $1 AND user_id = $2 RETURNING id", .text(id), .text(userID)).count
        }
        return .with {
            $0.success = true
            $0.storiesAffected = Int64(affected)
        }
    }

    public func setHeroAvatar(request: Atelier_Catalog_V1_SetHeroAvatarRequest, context: ServerContext) async throws -> Atelier_Catalog_V1_HeroResponse {
        let userID = try serviceSubject(request.userID)
        let id = try Rules.id(request.heroID, field: "heroId", what: "hero")
        let url = try Rules.url(request.avatarURL, field: "avatarUrl", required: true)
        let prompt = try Rules.text(request.avatarPrompt, field: "avatarPrompt", max: 4000)
        let generationID = try Rules.text(request.avatarGenerationID, field: "avatarGenerationId", max: 200)
        let profile = request.hasVisualProfile ? try Self.checkedProfile(request.visualProfile) : nil
        let profileJSON: SQLValue = try profile.map { .text(try $0.jsonString()) } ?? .null
        let now = Date.databaseNow
        return try await database.transaction { tx in
            var hero = try await Self.hero(tx, id: id, user: userID)
            hero.avatarURL = url ?? ""
            if let prompt { hero.avatarPrompt = prompt } else { hero.clearAvatarPrompt() }
            if let generationID { hero.avatarGenerationID = generationID } else { hero.clearAvatarGenerationID() }
            if let profile { hero.visualProfile = profile }
            hero.updatedAt = .init(date: now)
            try await tx.query("""
                UPDATE heroes SET avatar_url = $1, avatar_prompt = $2, avatar_generation_id = $3,
                       visual_profile = COALESCE($4, visual_profile), updated_at = $5 WHERE id = $6
                """, .optional(url), .optional(prompt), .optional(generationID), profileJSON, .time(now), .text(id))
            return .with { $0.hero = hero }
        }
    }

    // MARK: Rules

    static func heroAge(_ age: Int32) throws -> Int32 {
        guard (1...18).contains(age) else { throw ServiceError.invalid("age", "age must be 1 to 18") }
        return age
    }

    static func heroTraits(_ traits: [String]) throws -> [String] {
        guard !traits.isEmpty else { throw ServiceError.invalid("traits", "traits needs 1 to 5 entries") }
        guard traits.count <= 5 else { throw ServiceError.invalid("traits", "traits holds at most 5 entries") }
        var out: [String] = []
        for trait in traits {
            let known = try Rules.oneOf(trait, field: "traits", allowed: heroTraits)
            if !out.contains(known) { out.append(known) }
        }
        return out
    }

    static func heroAbilities(_ abilities: [String]) throws -> [String] {
        try Rules.list(abilities, field: "abilities", maxItems: 3, maxLength: 50)
    }

    static func checkedProfile(_ profile: Atelier_Catalog_V1_HeroVisualProfile) throws -> Atelier_Catalog_V1_HeroVisualProfile {
        var out = profile
        for (has, value, field) in [
            (profile.hasHairColor, profile.hairColor, "hairColor"), (profile.hasHairStyle, profile.hairStyle, "hairStyle"),
            (profile.hasEyeColor, profile.eyeColor, "eyeColor"), (profile.hasSkinTone, profile.skinTone, "skinTone"),
            (profile.hasBodyType, profile.bodyType, "bodyType"), (profile.hasHeight, profile.height, "height"),
            (profile.hasClothingStyle, profile.clothingStyle, "clothingStyle"), (profile.hasArtStyle, profile.artStyle, "artStyle"),
        ] where has {
            _ = try Rules.text(value, field: "visualProfile.\(field)", max: 200)
        }
        if profile.hasCanonicalPrompt { _ = try Rules.text(profile.canonicalPrompt, field: "visualProfile.canonicalPrompt", max: 4000) }
        if profile.hasSimplifiedPrompt { _ = try Rules.text(profile.simplifiedPrompt, field: "visualProfile.simplifiedPrompt", max: 2000) }
        out.colorPalette = try Rules.list(profile.colorPalette, field: "visualProfile.colorPalette", maxItems: 12, maxLength: 50)
        out.accessories = try Rules.list(profile.accessories, field: "visualProfile.accessories", maxItems: 12, maxLength: 100)
        return out
    }

    // MARK: Rows

    static func hero(_ db: any SQLExecutor, id: String, user: String) async throws -> Atelier_Catalog_V1_Hero {
        guard let row = try await db.first("SELECT \(heroColumns) FROM heroes WHERE id = $1 AND user_id = $2", .text(id), .text(user)) else {
            throw ServiceError.notFound("hero")
        }
        return try hero(row)
    }

    static func hero(_ row: SQLRow) throws -> Atelier_Catalog_V1_Hero {
        var hero = Atelier_Catalog_V1_Hero()
        hero.id = try row.string("id")
        hero.name = try row.string("name")
        hero.age = Int32(clamping: try row.int("age"))
        hero.traits = try JSONColumn.list(row, "traits")
        hero.appearance = try row.string("appearance")
        hero.abilities = try JSONColumn.list(row, "abilities")
        if let value = try row.optionalString("avatar_url") { hero.avatarURL = value }
        if let value = try row.optionalString("avatar_prompt") { hero.avatarPrompt = value }
        if let value = try row.optionalString("avatar_generation_id") { hero.avatarGenerationID = value }
        if let json = try row.optionalString("visual_profile") {
            hero.visualProfile = try Atelier_Catalog_V1_HeroVisualProfile(jsonString: json)
        }
        hero.storyCount = try row.int("story_count")
        hero.createdAt = try row.timestamp("created_at")
        hero.updatedAt = try row.timestamp("updated_at")
        return hero
    }
}
