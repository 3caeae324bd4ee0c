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

    public func listCustomEvents(request: Atelier_Catalog_V1_ListCustomEventsRequest, context: ServerContext) async throws -> Atelier_Catalog_V1_ListCustomEventsResponse {
        let userID = try user()
        let page = try Page(limit: request.limit, offset: request.offset)
        let order = try ListOrder(sortBy: request.sortBy, order: request.sortOrder,
                                  fields: ["createdAt": "created_at", "usageCount": "usage_count", "title": "title"])
        var conditions: [SQL] = []
        if !request.category.isEmpty {
            conditions.append("category = \(try Rules.oneOf(request.category, field: "category", allowed: Self.eventCategories))")
        }
        if request.hasIsFavorite { conditions.append("is_favorite = \(request.isFavorite)") }
        let found = try await CustomEventStore.table.page(database, owner: userID, where: conditions, order: order, page: page)
        return .with { $0.events = found.items; $0.pagination = found.pagination }
    }

    public func createCustomEvent(request: Atelier_Catalog_V1_CreateCustomEventRequest, context: ServerContext) async throws -> Atelier_Catalog_V1_CustomEventResponse {
        let userID = try user()
        var event = CustomEvent()
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
        try await CustomEventStore.insert(database, event, user: userID)
        let created = event
        return .with { $0.event = created }
    }

    public func getCustomEvent(request: Atelier_Catalog_V1_GetCustomEventRequest, context: ServerContext) async throws -> Atelier_Catalog_V1_CustomEventResponse {
        let event = try await owned(CustomEventStore.table, request.eventID, field: "eventId")
        return .with { $0.event = event }
    }

    public func updateCustomEvent(request: Atelier_Catalog_V1_UpdateCustomEventRequest, context: ServerContext) async throws -> Atelier_Catalog_V1_CustomEventResponse {
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
        let event = try await changeOwned(CustomEventStore.table, request.eventID, field: "eventId", { event in
            event.title = title ?? event.title
            event.description_p = description ?? event.description_p
            event.promptSeed = promptSeed ?? event.promptSeed
            event.keywords = keywords ?? event.keywords
            event.category = category ?? event.category
            event.tone = tone ?? event.tone
            if request.hasAgeRange { if let ageRange { event.ageRange = ageRange } else { event.clearAgeRange() } }
            if request.hasPictogramURL { if let pictogramURL { event.pictogramURL = pictogramURL } else { event.clearPictogramURL() } }
            if request.hasPictogramEmoji { if let emoji { event.pictogramEmoji = emoji } else { event.clearPictogramEmoji() } }
            if request.hasIsFavorite { event.isFavorite = request.isFavorite }
        }, write: CustomEventStore.update)
        return .with { $0.event = event }
    }

    public func deleteCustomEvent(request: Atelier_Catalog_V1_DeleteCustomEventRequest, context: ServerContext) async throws -> Atelier_Catalog_V1_SuccessResponse {
        // The stories told from it stay, without it (foreign key).
        try await deleteOwned(CustomEventStore.table, request.eventID, field: "eventId")
    }

    /// A pictogram emoji: one short grapheme cluster, so "🌙" and "👨‍👩‍👧" pass and sentences do not.
    static func emoji(_ value: String?) throws -> String? {
        guard let text = try Rules.text(value, field: "pictogramEmoji", max: 16) else { return nil }
        guard text.count == 1 else { throw ServiceError.invalid("pictogramEmoji", "pictogramEmoji must be a single emoji") }
        return text
    }
}
