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
    public func listHeroes(request: Atelier_Catalog_V1_ListHeroesRequest, context: ServerContext) async throws -> Atelier_Catalog_V1_ListHeroesResponse {
        let userID = try user()
        let page = try Page(limit: request.limit, offset: request.offset)
        let order = try ListOrder(sortBy: request.sortBy, order: request.sortOrder, fields: ["createdAt": "created_at", "name": "name"])
        let found = try await HeroStore.table.page(database, owner: userID, order: order, page: page)
        return .with { $0.heroes = found.items; $0.pagination = found.pagination }
    }

    public func createHero(request: Atelier_Catalog_V1_CreateHeroRequest, context: ServerContext) async throws -> Atelier_Catalog_V1_HeroResponse {
        let userID = try user()
        var hero = Hero()
        hero.id = SecureRandom.id(prefix: "hero")
        hero.name = try Rules.required(request.name, field: "name", max: 100)
        hero.age = try Self.heroAge(request.age)
        hero.traits = try Self.heroTraits(request.traits)
        hero.appearance = try Rules.required(request.appearance, field: "appearance", max: 500)
        hero.abilities = try Self.heroAbilities(request.abilities)
        let now = Date.databaseNow
        hero.createdAt = .init(date: now)
        hero.updatedAt = .init(date: now)
        try await HeroStore.insert(database, hero, user: userID)
        let created = hero
        return .with { $0.hero = created }
    }

    public func getHero(request: Atelier_Catalog_V1_GetHeroRequest, context: ServerContext) async throws -> Atelier_Catalog_V1_HeroResponse {
        guard (0...50).contains(request.storyLimit) else { throw ServiceError.invalid("storyLimit", "storyLimit must be 1 to 50") }
        var hero = try await owned(HeroStore.table, request.heroID, field: "heroId")
        if request.includeStories {
            hero.stories = try await HeroStore.recentStories(database, hero: hero.id, limit: request.storyLimit == 0 ? 10 : Int(request.storyLimit))
        }
        let found = hero
        return .with { $0.hero = found }
    }

    public func updateHero(request: Atelier_Catalog_V1_UpdateHeroRequest, context: ServerContext) async throws -> Atelier_Catalog_V1_HeroResponse {
        let name = request.hasName ? try Rules.required(request.name, field: "name", max: 100) : nil
        let age = request.hasAge ? try Self.heroAge(request.age) : nil
        let traits = request.traits.isEmpty ? nil : try Self.heroTraits(request.traits)
        let appearance = request.hasAppearance ? try Rules.required(request.appearance, field: "appearance", max: 500) : nil
        let abilities = request.abilities.isEmpty && !request.clearAbilities_p ? nil : try Self.heroAbilities(request.abilities)
        let hero = try await changeOwned(HeroStore.table, request.heroID, field: "heroId", { hero in
            hero.name = name ?? hero.name
            hero.age = age ?? hero.age
            hero.traits = traits ?? hero.traits
            hero.appearance = appearance ?? hero.appearance
            hero.abilities = abilities ?? hero.abilities
        }, write: { tx, hero, user in try await HeroStore.update(tx, hero, HeroStore.attributes, user: user) })
        return .with { $0.hero = hero }
    }

    public func deleteHero(request: Atelier_Catalog_V1_DeleteHeroRequest, context: ServerContext) async throws -> Atelier_Catalog_V1_DeleteHeroResponse {
        let userID = try user()
        let id = try Rules.id(request.heroID, field: "heroId", what: "hero")
        // The stories stay the user's; they just no longer name a hero.
        let affected = try await database.transaction { tx in try await HeroStore.delete(tx, id: id, user: userID) }
        return .with {
            $0.success = true
            $0.storiesAffected = affected
        }
    }

    public func setHeroAvatar(request: Atelier_Catalog_V1_SetHeroAvatarRequest, context: ServerContext) async throws -> Atelier_Catalog_V1_HeroResponse {
        let userID = try serviceSubject(request.userID)
        let id = try Rules.id(request.heroID, field: "heroId", what: "hero")
        let url = try Rules.url(request.avatarURL, field: "avatarUrl", required: true)
        let prompt = try Rules.text(request.avatarPrompt, field: "avatarPrompt", max: 4000)
        let generationID = try Rules.text(request.avatarGenerationID, field: "avatarGenerationId", max: 200)
        let profile = request.hasVisualProfile ? try Self.checkedProfile(request.visualProfile) : nil
        let now = Date.databaseNow
        let hero = try await database.transaction { tx in
            var hero = try await HeroStore.table.get(tx, id: id, owner: userID, lock: true)
            hero.avatarURL = url ?? ""
            if let prompt { hero.avatarPrompt = prompt } else { hero.clearAvatarPrompt() }
            if let generationID { hero.avatarGenerationID = generationID } else { hero.clearAvatarGenerationID() }
            // A call without a profile keeps the one the hero has.
            if let profile { hero.visualProfile = profile }
            hero.updatedAt = .init(date: now)
            try await HeroStore.update(tx, hero, HeroStore.avatar, user: userID)
            return hero
        }
        return .with { $0.hero = hero }
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
}
