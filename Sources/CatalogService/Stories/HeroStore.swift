import AtelierProtos
import Foundation
import ServiceKit

typealias Hero = Atelier_Catalog_V1_Hero

/// The SQL of `heroes`. A hero keeps its story count in step with its stories; deleting a hero
/// keeps the stories, unlinked (the foreign key sets their `hero_id` to NULL).
enum HeroStore {
    /// What an owner edits.
    static let attributes: [MessageColumn<Hero>] = [
        .text("name", \.name), .int32("age", \.age), .list("traits", \.traits), .text("appearance", \.appearance),
        .list("abilities", \.abilities),
    ]
    /// What generation sets: the avatar and the visual profile derived from it.
    static let avatar: [MessageColumn<Hero>] = [
        .optionalText("avatar_url", \.avatarURL, present: \.hasAvatarURL),
        .optionalText("avatar_prompt", \.avatarPrompt, present: \.hasAvatarPrompt),
        .optionalText("avatar_generation_id", \.avatarGenerationID, present: \.hasAvatarGenerationID),
        .json("visual_profile", \.visualProfile, present: \.hasVisualProfile),
    ]
    static let columns: [MessageColumn<Hero>] = [.text("id", \.id)] + attributes + avatar + [
        .int("story_count", \.storyCount), .time("created_at", \.createdAt), .time("updated_at", \.updatedAt),
    ]
    static let table = OwnedTable<Hero>("heroes", columns: columns.names(), noun: "hero", read: read)

    /// A row read into a hero field by field, as `columns.read` would read it. The hero list reads
    /// twenty rows a page, and setting them through the columns' key paths (the runtime's
    /// `swift_setAtWritableKeyPath` and the writeback buffers of each computed field) was a
    /// tenth of the list's CPU. The columns stay the one list of names for SELECT, INSERT and
    /// UPDATE; `ColumnTests` checks that this reads every one of them the same way.
    static func read(_ row: SQLRow) throws -> Hero {
        var hero = Hero()
        hero.id = try row.string("id")
        hero.name = try row.string("name")
        hero.age = Int32(clamping: try row.int("age"))
        hero.traits = try JSONColumn.list(row, "traits")
        hero.appearance = try row.string("appearance")
        hero.abilities = try JSONColumn.list(row, "abilities")
        if let url = try row.optionalString("avatar_url") { hero.avatarURL = url }
        if let prompt = try row.optionalString("avatar_prompt") { hero.avatarPrompt = prompt }
        if let generation = try row.optionalString("avatar_generation_id") { hero.avatarGenerationID = generation }
        if let profile = try row.optionalString("visual_profile") { hero.visualProfile = try .init(jsonString: profile) }
        hero.storyCount = try row.int("story_count")
        hero.createdAt = try row.timestamp("created_at")
        hero.updatedAt = try row.timestamp("updated_at")
        return hero
    }

    static func insert(_ db: any SQLExecutor, _ hero: Hero, user: String) async throws {
        try await table.insert(db, try columns.values(of: hero) + [("user_id", .text(user))])
    }

    /// Writes `fields` of the hero and the time of the change.
    static func update(_ db: any SQLExecutor, _ hero: Hero, _ fields: [MessageColumn<Hero>], user: String) async throws {
        let assignments = try fields.values(of: hero) + [("updated_at", .time(hero.updatedAt.date))]
        try await db.query("UPDATE heroes SET \(SQL.assignments(assignments)) WHERE id = \(hero.id) AND user_id = \(user)")
    }

    /// Deletes the hero; returns how many of its stories it leaves without a hero.
    static func delete(_ tx: any SQLExecutor, id: String, user: String) async throws -> Int64 {
        let stories = try await tx.count("SELECT COUNT(*) AS n FROM stories WHERE hero_id = \(id) AND user_id = \(user)")
        try await table.delete(tx, id: id, owner: user)
        return stories
    }

    /// The hero's newest stories, for reading a hero with its stories.
    static func recentStories(_ db: any SQLExecutor, hero: String, limit: Int) async throws -> [Atelier_Catalog_V1_HeroStory] {
        try await db.query("SELECT id, title, created_at FROM stories WHERE hero_id = \(hero) ORDER BY created_at DESC, id DESC LIMIT \(limit)")
            .map { row in
                try .with {
                    $0.id = try row.string("id")
                    $0.title = try row.string("title")
                    $0.createdAt = try row.timestamp("created_at")
                }
            }
    }

    static func countStory(_ tx: any SQLExecutor, hero: String, by delta: Int64) async throws {
        try await tx.query("UPDATE heroes SET story_count = story_count + \(delta) WHERE id = \(hero)")
    }
}
