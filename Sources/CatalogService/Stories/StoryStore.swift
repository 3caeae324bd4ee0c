import AtelierProtos
import Foundation
import ServiceKit

typealias Story = Atelier_Catalog_V1_Story
typealias Illustration = Atelier_Catalog_V1_Illustration

/// The SQL of `stories` and their `illustrations`. A story is read with its hero's name and
/// avatar; it keeps its hero (or none, once the hero is deleted) and its illustration count.
/// Illustrations go with their story (foreign key) and are kept in display order without gaps.
enum StoryStore {
    static let languages = ["en", "es", "fr", "de", "it"]

    /// The story's own columns, as `s.<name>` in reads.
    static let columns: [MessageColumn<Story>] = [
        .text("id", \.id), .optionalText("hero_id", \.heroID, present: \.hasHeroID), .text("title", \.title), .text("content", \.content),
        .text("language", \.language), .optionalText("event_type", \.eventType, present: \.hasEventType), .optionalText("custom_event_id", \.customEventID, present: \.hasCustomEventID),
        .optionalText("audio_url", \.audioURL, present: \.hasAudioURL), .bool("audio_generated", \.audioGenerated),
        .optionalDouble("audio_duration", \.audioDuration, present: \.hasAudioDuration), .optionalText("voice_type", \.voiceType, present: \.hasVoiceType),
        .int("illustration_count", \.illustrationCount), .int("listen_count", \.listenCount),
        .optionalTime("last_listened_at", \.lastListenedAt, present: \.hasLastListenedAt), .bool("is_favorite", \.isFavorite),
        .time("created_at", \.createdAt), .time("updated_at", \.updatedAt),
    ]
    /// What an owner edits, and what a new narration sets.
    static let edits: [MessageColumn<Story>] = columns.filter {
        ["title", "content", "is_favorite", "audio_generated", "audio_url", "audio_duration", "voice_type"].contains($0.name)
    }


    static let table = OwnedTable<Story>(
        "stories", alias: "s",
        selection: SQL.join(columns.names().map { "s.\($0)" }, separator: ", ") + ", h.name AS hero_name, h.avatar_url AS hero_avatar_url",
        from: "stories s LEFT JOIN heroes h ON h.id = s.hero_id", noun: "story", read: read)

    static func read(_ row: SQLRow) throws -> Story {
        var story: Story = try columns.read(row)
        if story.hasHeroID {
            let name = try row.optionalString("hero_name") ?? ""
            story.heroName = name
            story.hero = .with {
                $0.id = story.heroID
                $0.name = name
            }
            if let avatar = try row.optionalString("hero_avatar_url") { story.hero.avatarURL = avatar }
        }
        return story
    }

    static let illustrationColumns: [MessageColumn<Illustration>] = [
        .text("id", \.id), .text("story_id", \.storyID), .text("image_url", \.imageURL), .text("prompt", \.prompt),
        .optionalText("generation_id", \.generationID, present: \.hasGenerationID), .double("timestamp_seconds", \.timestamp),
        .optionalDouble("duration_seconds", \.duration, present: \.hasDuration), .int32("display_order", \.displayOrder),
        .text("generation_status", \.generationStatus), .optionalText("error_message", \.errorMessage, present: \.hasErrorMessage),
        .time("created_at", \.createdAt),
    ]
    static let illustrationTable = OwnedTable<Illustration>(
        "illustrations", columns: illustrationColumns.names(), noun: "illustration", read: illustrationColumns.read)

    /// A story made by generation, counted on its hero and on its custom event.
    static func insert(_ tx: any SQLExecutor, _ story: Story, user: String, customPrompt: String?, key: String?) async throws {
        try await HeroStore.table.require(tx, id: story.heroID, owner: user, lock: true)
        if story.hasCustomEventID {
            try await CustomEventStore.countUse(tx, id: story.customEventID, user: user, at: story.createdAt.date)
        }
        try await table.insert(tx, try columns.values(of: story) + [
            ("user_id", .text(user)), ("custom_event_prompt", .optional(customPrompt)), ("idempotency_key", .optional(key)),
        ])
        try await HeroStore.countStory(tx, hero: story.heroID, by: 1)
    }

    @Sendable static func update(_ db: any SQLExecutor, _ story: Story, user: String) async throws {
        let assignments = try edits.values(of: story) + [("updated_at", .time(story.updatedAt.date))]
        try await db.query("UPDATE stories SET \(SQL.assignments(assignments)) WHERE id = \(story.id) AND user_id = \(user)")
    }

    /// Deletes a story (its illustrations go with it) and uncounts it on its hero.
    static func delete(_ tx: any SQLExecutor, id: String, user: String) async throws {
        let row = try await table.delete(tx, id: id, owner: user, returning: ["hero_id"])
        if let hero = try row.optionalString("hero_id") { try await HeroStore.countStory(tx, hero: hero, by: -1) }
    }

    /// Counts a listen; returns the new count.
    static func recordListen(_ db: any SQLExecutor, id: String, user: String, at now: Date) async throws -> Int64 {
        guard let row = try await db.first("""
            UPDATE stories SET listen_count = listen_count + 1, last_listened_at = \(now) WHERE id = \(id) AND user_id = \(user)
            RETURNING listen_count
            """)
        else { throw table.notFound }
        return try row.int("listen_count")
    }

    /// Locks the owner's story for the transaction and returns its illustration count, which is
    /// also the next display order.
    static func lockForIllustrations(_ tx: any SQLExecutor, id: String, user: String) async throws -> Int64 {
        guard let row = try await tx.first("SELECT illustration_count FROM stories WHERE id = \(id) AND user_id = \(user)\(SQL.forUpdate)") else {
            throw table.notFound
        }
        return try row.int("illustration_count")
    }

    /// A story's illustrations in display order.
    static func illustrations(_ db: any SQLExecutor, story: String) async throws -> [Illustration] {
        try await db.query("\(illustrationTable.select) WHERE story_id = \(story) ORDER BY display_order").map(illustrationTable.read)
    }

    /// The illustrations of several stories (an export page), grouped by story.
    static func illustrations(_ db: any SQLExecutor, stories: [String], user: String) async throws -> [String: [Illustration]] {
        guard !stories.isEmpty else { return [:] }
        let rows = try await db.query("""
            \(illustrationTable.select) WHERE user_id = \(user) AND story_id IN (\(list: stories.map { .text($0) })) ORDER BY story_id, display_order
            """)
        return Dictionary(grouping: try rows.map(illustrationTable.read), by: \.storyID)
    }

    /// Adds an illustration at the end of its story's order (the story is locked).
    static func addIllustration(_ tx: any SQLExecutor, _ illustration: Illustration, user: String, key: String?) async throws -> Illustration {
        var added = illustration
        added.displayOrder = Int32(try await lockForIllustrations(tx, id: illustration.storyID, user: user))
        try await illustrationTable.insert(tx, try illustrationColumns.values(of: added) + [
            ("user_id", .text(user)), ("idempotency_key", .optional(key)), ("updated_at", .time(added.createdAt.date)),
        ])
        try await tx.query("UPDATE stories SET illustration_count = illustration_count + 1 WHERE id = \(added.storyID)")
        return added
    }

    /// Deletes an illustration and closes the gap it leaves in the order.
    static func deleteIllustration(_ tx: any SQLExecutor, id: String, story: String, user: String) async throws {
        // Locks the story, so two deletes in one story close the gaps one after the other.
        _ = try await lockForIllustrations(tx, id: story, user: user)
        guard let row = try await tx.first("""
            DELETE FROM illustrations WHERE id = \(id) AND story_id = \(story) AND user_id = \(user) RETURNING display_order
            """)
        else { throw illustrationTable.notFound }
        try await tx.query("""
            UPDATE illustrations SET display_order = display_order - 1 WHERE story_id = \(story) AND display_order > \(try row.int("display_order"))
            """)
        try await tx.query("UPDATE stories SET illustration_count = illustration_count - 1 WHERE id = \(story)")
    }
}
