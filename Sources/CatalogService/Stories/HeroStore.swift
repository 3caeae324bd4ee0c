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
    static let table = OwnedTable<Hero>("heroes", columns: columns.names(), noun: "hero", read: columns.read)

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
