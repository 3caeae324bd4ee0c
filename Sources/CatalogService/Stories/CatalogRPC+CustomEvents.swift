import AtelierProtos
import Foundation
import GRPCCore
import ServiceKit

/// Custom story events (PRD section 5, CustomStoryEvent): a user's own occasions for stories,
/// beside the built-in event types. Generation counts their use when it tells a story from one.
extension CatalogRPC {
    /// The PRD names the fields, not their values; these are the lists the app offers (README).
    static let eventCategories = ["bedtime", "adventure", "family", "friendship", "school", "holiday", "nature", "learning", "feelings", "other"]
    static let eventTones = ["gentle", "funny", "exciting", "calming", "educational", "mysterious"]
    static let eventAgeRanges = ["0-2", "3-5", "6-8", "9-12", "13-18"]
    static let customEventColumns = """
        id, title, description, prompt_seed, keywords, category, age_range, tone, pictogram_url, pictogram_emoji, \
        usage_count, last_used_at, is_favorite, created_at, updated_at
        """

    public func listCustomEvents(request: Atelier_Catalog_V1_ListCustomEventsRequest, context: ServerContext) async throws -> Atelier_Catalog_V1_ListCustomEventsResponse {
        let userID = try user()
        let page = try Page(limit: request.limit, offset: request.offset)
        let order = try SortOrder(sortBy: request.sortBy, order: request.sortOrder,
                                  fields: ["createdAt": "created_at", "usageCount": "usage_count", "title": "title"])
        var filter = Filter()
        filter.add("user_id = ?", .text(userID))
        if !request.category.isEmpty {
            filter.add("category = ?", .text(try Rules.oneOf(request.category, field: "category", allowed: Self.eventCategories)))
        }
        if request.hasIsFavorite { filter.add("is_favorite = ?", .bool(request.isFavorite)) }
        let found = try await database.page(Self.customEventColumns, from: "custom_events", filter: filter, order: order.sql(), page: page,
                                            Self.customEvent)
        return .with {
            $0.events = found.items
            $0.pagination = page.pagination(total: found.total)
        }
    }

    public func createCustomEvent(request: Atelier_Catalog_V1_CreateCustomEventRequest, context: ServerContext) async throws -> Atelier_Catalog_V1_CustomEventResponse {
        let userID = try user()
        var event = Atelier_Catalog_V1_CustomStoryEvent()
        event.id = SecureRandom.id(prefix: "evt")
        event.title = try Rules.required(request.title, field: "title", max: 100)
        event.description_p = try Rules.required(request.description_p, field: "description", max: 1000)
        event.promptSeed = try Rules.required(request.promptSeed, field: "promptSeed", max: 2000)
        event.keywords = try Rules.list(request.keywords, field: "keywords", maxItems: 10, maxLength: 50)
        event.category = try Rules.oneOf(request.category, field: "category", allowed: Self.eventCategories)
        if request.hasAgeRange, !request.ageRange.isEmpty {
            event.ageRange = try Rules.oneOf(request.ageRange, field: "ageRange", allowed: Self.eventAgeRanges)
        }
        event.tone = request.hasTone ? try Rules.oneOf(request.tone, field: "tone", allowed: Self.eventTones) : "gentle"
        if let url = try Rules.url(request.hasPictogramURL ? request.pictogramURL : nil, field: "pictogramUrl") { event.pictogramURL = url }
        if let emoji = try Self.emoji(request.hasPictogramEmoji ? request.pictogramEmoji : nil) { event.pictogramEmoji = emoji }
        event.isFavorite = request.isFavorite
        let now = Date.databaseNow
        event.createdAt = .init(date: now)
        event.updatedAt = .init(date: now)
        try await database.query("""
            INSERT INTO custom_events (id, user_id, title, description, prompt_seed, keywords, category, age_range, tone,
                                       pictogram_url, pictogram_emoji, is_favorite, created_at, updated_at)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $13)
            """, .text(event.id), .text(userID), .text(event.title), .text(event.description_p), .text(event.promptSeed),
            JSONColumn.encode(event.keywords), .text(event.category), event.hasAgeRange ? .text(event.ageRange) : .null,
            .text(event.tone), event.hasPictogramURL ? .text(event.pictogramURL) : .null,
            event.hasPictogramEmoji ? .text(event.pictogramEmoji) : .null, .bool(event.isFavorite), .time(now))
        return .with { $0.event = event }
    }

    public func getCustomEvent(request: Atelier_Catalog_V1_GetCustomEventRequest, context: ServerContext) async throws -> Atelier_Catalog_V1_CustomEventResponse {
        let userID = try user()
        let id = try Rules.id(request.eventID, field: "eventId", what: "custom event")
        let event = try await Self.customEvent(database, id: id, user: userID)
        return .with { $0.event = event }
    }

    public func updateCustomEvent(request: Atelier_Catalog_V1_UpdateCustomEventRequest, context: ServerContext) async throws -> Atelier_Catalog_V1_CustomEventResponse {
        let userID = try user()
        let id = try Rules.id(request.eventID, field: "eventId", what: "custom event")
        let title = request.hasTitle ? try Rules.required(request.title, field: "title", max: 100) : nil
        let description = request.hasDescription_p ? try Rules.required(request.description_p, field: "description", max: 1000) : nil
        let promptSeed = request.hasPromptSeed ? try Rules.required(request.promptSeed, field: "promptSeed", max: 2000) : nil
        let keywords = request.keywords.isEmpty && !request.clearKeywords_p ? nil
            : try Rules.list(request.keywords, field: "keywords", maxItems: 10, maxLength: 50)
        let category = request.hasCategory ? try Rules.oneOf(request.category, field: "category", allowed: Self.eventCategories) : nil
        let ageRange = request.hasAgeRange && !request.ageRange.isEmpty
            ? try Rules.oneOf(request.ageRange, field: "ageRange", allowed: Self.eventAgeRanges) : nil
        let tone = request.hasTone ? try Rules.oneOf(request.tone, field: "tone", allowed: Self.eventTones) : nil
        let pictogramURL = try Rules.url(request.pictogramURL, field: "pictogramUrl")
        let emoji = try Self.emoji(request.pictogramEmoji)
        let now = Date.databaseNow
        return try await database.transaction { tx in
            var event = try await Self.customEvent(tx, id: id, user: userID)
            if let title { event.title = title }
            if let description { event.description_p = description }
            if let promptSeed { event.promptSeed = promptSeed }
            if let keywords { event.keywords = keywords }
            if let category { event.category = category }
            if request.hasAgeRange { if let ageRange { event.ageRange = ageRange } else { event.clearAgeRange() } }
            if let tone { event.tone = tone }
            if request.hasPictogramURL { if let pictogramURL { event.pictogramURL = pictogramURL } else { event.clearPictogramURL() } }
            if request.hasPictogramEmoji { if let emoji { event.pictogramEmoji = emoji } else { event.clearPictogramEmoji() } }
            if request.hasIsFavorite { event.isFavorite = request.isFavorite }
            event.updatedAt = .init(date: now)
            try await tx.query("""
                UPDATE custom_events SET title = $1, description = $2, prompt_seed = $3, keywords = $4, category = $5, age_range = $6,
                       tone = $7, pictogram_url = $8, pictogram_emoji = $9, is_favorite = $10, updated_at = $11
                WHERE id = $12 AND user_id = $13
                """, .text(event.title), .text(event.description_p), .text(event.promptSeed), JSONColumn.encode(event.keywords),
                .text(event.category), event.hasAgeRange ? .text(event.ageRange) : .null, .text(event.tone),
                event.hasPictogramURL ? .text(event.pictogramURL) : .null, event.hasPictogramEmoji ? .text(event.pictogramEmoji) : .null,
                .bool(event.isFavorite), .time(now), .text(id), .text(userID))
            return .with { $0.event = event }
        }
    }

    public func deleteCustomEvent(request: Atelier_Catalog_V1_DeleteCustomEventRequest, context: ServerContext) async throws -> Atelier_Catalog_V1_SuccessResponse {
        let userID = try user()
        let id = try Rules.id(request.eventID, field: "eventId", what: "custom event")
        try await database.transaction { tx in
            guard !(try await tx.query("DELETE FROM custom_events WHERE id = $1 AND user_id = $2 RETURNING id", .text(id), .text(userID))).isEmpty else {
                throw ServiceError.notFound("custom event")
            }
            try await tx.query("UPDATE stories SET custom_event_id = NULL WHERE custom_event_id = $1 AND user_id = $2", .text(id), .text(userID))
        }
        return .with { $0.success = true }
    }

    /// A pictogram emoji: one short grapheme cluster, so "🌙" and "👨‍👩‍👧" pass and sentences do not.
    static func emoji(_ value: String?) throws -> String? {
        guard let text = try Rules.text(value, field: "pictogramEmoji", max: 16) else { return nil }
        guard text.count == 1 else { throw ServiceError.invalid("pictogramEmoji", "pictogramEmoji must be a single emoji") }
        return text
    }

    // MARK: Rows

    static func customEvent(_ db: any SQLExecutor, id: String, user: String) async throws -> Atelier_Catalog_V1_CustomStoryEvent {
        guard let row = try await db.first("SELECT \(customEventColumns) FROM custom_events WHERE id = $1 AND user_id = $2", .text(id), .text(user)) else {
            throw ServiceError.notFound("custom event")
        }
        return try customEvent(row)
    }

    static func customEvent(_ row: SQLRow) throws -> Atelier_Catalog_V1_CustomStoryEvent {
        var event = Atelier_Catalog_V1_CustomStoryEvent()
        event.id = try row.string("id")
        event.title = try row.string("title")
        event.description_p = try row.string("description")
        event.promptSeed = try row.string("prompt_seed")
        event.keywords = try JSONColumn.list(row, "keywords")
        event.category = try row.string("category")
        if let value = try row.optionalString("age_range") { event.ageRange = value }
        event.tone = try row.string("tone")
        if let value = try row.optionalString("pictogram_url") { event.pictogramURL = value }
        if let value = try row.optionalString("pictogram_emoji") { event.pictogramEmoji = value }
        event.usageCount = try row.int("usage_count")
        if let value = try row.optionalTimestamp("last_used_at") { event.lastUsedAt = value }
        event.isFavorite = try row.bool("is_favorite")
        event.createdAt = try row.timestamp("created_at")
        event.updatedAt = try row.timestamp("updated_at")
        return event
    }
}
