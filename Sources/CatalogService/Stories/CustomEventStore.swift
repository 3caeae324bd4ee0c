import AtelierProtos
import Foundation
import ServiceKit

typealias CustomEvent = Atelier_Catalog_V1_CustomStoryEvent

/// The SQL of `custom_events`. An event counts the stories told from it; deleting it keeps
/// those stories (the foreign key sets their `custom_event_id` to NULL).
enum CustomEventStore {
    /// What an owner edits.
    static let attributes: [MessageColumn<CustomEvent>] = [
        .text("title", \.title), .text("description", \.description_p), .text("prompt_seed", \.promptSeed),
        .list("keywords", \.keywords), .text("category", \.category),
        .optionalText("age_range", \.ageRange, present: \.hasAgeRange), .text("tone", \.tone),
        .optionalText("pictogram_url", \.pictogramURL, present: \.hasPictogramURL),
        .optionalText("pictogram_emoji", \.pictogramEmoji, present: \.hasPictogramEmoji), .bool("is_favorite", \.isFavorite),
    ]
    static let columns: [MessageColumn<CustomEvent>] = [.text("id", \.id)] + attributes + [
        .int("usage_count", \.usageCount), .optionalTime("last_used_at", \.lastUsedAt, present: \.hasLastUsedAt),
        .time("created_at", \.createdAt), .time("updated_at", \.updatedAt),
    ]
    static let table = OwnedTable<CustomEvent>("custom_events", columns: columns.names(), noun: "custom event", read: columns.read)

    static func insert(_ db: any SQLExecutor, _ event: CustomEvent, user: String) async throws {
        try await table.insert(db, try columns.values(of: event) + [("user_id", .text(user))])
    }

    @Sendable static func update(_ db: any SQLExecutor, _ event: CustomEvent, user: String) async throws {
        let assignments = try attributes.values(of: event) + [("updated_at", .time(event.updatedAt.date))]
        try await db.query("UPDATE custom_events SET \(SQL.assignments(assignments)) WHERE id = \(event.id) AND user_id = \(user)")
    }

    /// Counts a story told from the owner's event, or NotFound.
    static func countUse(_ tx: any SQLExecutor, id: String, user: String, at now: Date) async throws {
        let used = try await tx.query("""
            UPDATE custom_events SET usage_count = usage_count + 1, last_used_at = \(now) WHERE id = \(id) AND user_id = \(user) RETURNING id
            """)
        guard !used.isEmpty else { throw table.notFound }
    }
}
