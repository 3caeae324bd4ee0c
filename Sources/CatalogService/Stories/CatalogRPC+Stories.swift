import AtelierProtos
import Foundation
import GRPCCore
import ServiceKit

/// Stories and their illustrations (PRD 6.3 and 6.5). Generation writes them; owners read,
/// edit, favourite, count listens and delete.
extension CatalogRPC {
    static let languages = ["en", "es", "fr", "de", "it"]
    static let illustrationStatuses = ["pending", "generating", "completed", "failed"]
    static let storyColumns = """
        s.id, s.hero_id, h.name AS hero_name, h.avatar_url AS hero_avatar_url, s.title, s.content, s.language, s.event_type, \
        s.custom_event_id, s.audio_url, s.audio_generated, s.audio_duration, s.voice_type, s.illustration_count, \
        s.listen_count, s.last_listened_at, s.is_favorite, s.created_at, s.updated_at
        """
    static let storyFrom = "stories s LEFT JOIN heroes h ON h.id = s.hero_id"
    static let illustrationColumns = """
        id, story_id, image_url, prompt, generation_id, timestamp_seconds, duration_seconds, display_order, \
        generation_status, error_message, created_at
        """

    public func listStories(request: Atelier_Catalog_V1_ListStoriesRequest, context: ServerContext) async throws -> Atelier_Catalog_V1_ListStoriesResponse {
        let userID = try user()
        let page = try Page(limit: request.limit, offset: request.offset)
        let order = try SortOrder(sortBy: request.sortBy, order: request.sortOrder,
                                  fields: ["createdAt": "created_at", "listenCount": "listen_count"])
        var filter = Filter()
        filter.add("s.user_id = ?", .text(userID))
        if !request.heroID.isEmpty { filter.add("s.hero_id = ?", .text(try Rules.id(request.heroID, field: "heroId", what: "hero"))) }
        if let eventType = try Rules.text(request.eventType, field: "eventType", max: 50) { filter.add("s.event_type = ?", .text(eventType)) }
        if !request.language.isEmpty { filter.add("s.language = ?", .text(try Rules.oneOf(request.language, field: "language", allowed: Self.languages))) }
        if request.hasIsFavorite { filter.add("s.is_favorite = ?", .bool(request.isFavorite)) }
        let found = try await database.page(Self.storyColumns, from: Self.storyFrom, countFrom: "stories s", filter: filter,
                                            order: order.sql("s."), page: page, Self.story)
        return .with {
            $0.stories = found.items
            $0.pagination = page.pagination(total: found.total)
        }
    }

    public func getStory(request: Atelier_Catalog_V1_GetStoryRequest, context: ServerContext) async throws -> Atelier_Catalog_V1_StoryResponse {
        let userID = try user()
        let id = try Rules.id(request.storyID, field: "storyId", what: "story")
        var story = try await Self.story(database, id: id, user: userID)
        if !request.hasIncludeIllustrations || request.includeIllustrations {
            story.illustrations = try await Self.illustrations(database, story: id)
        }
        return .with { $0.story = story }
    }

    public func updateStory(request: Atelier_Catalog_V1_UpdateStoryRequest, context: ServerContext) async throws -> Atelier_Catalog_V1_StoryResponse {
        let userID = try user()
        let id = try Rules.id(request.storyID, field: "storyId", what: "story")
        let title = request.hasTitle ? try Rules.required(request.title, field: "title", max: 200) : nil
        let content = request.hasContent ? try Rules.required(request.content, field: "content", max: 50_000) : nil
        let now = Date.databaseNow
        return try await database.transaction { tx in
            var story = try await Self.story(tx, id: id, user: userID)
            if let title { story.title = title }
            if let content, content != story.content {
                story.content = content
                // The narration no longer matches the text: it must be made again.
                story.audioGenerated = false
                story.clearAudioURL()
                story.clearAudioDuration()
            }
            if request.hasIsFavorite { story.isFavorite = request.isFavorite }
            story.updatedAt = .init(date: now)
            try await tx.query("""
                UPDATE stories SET title = $1, content = $2, is_favorite = $3, audio_generated = $4, audio_url = $5,
                       audio_duration = $6, updated_at = $7 WHERE id = $8 AND user_id = $9
                """, .text(story.title), .text(story.content), .bool(story.isFavorite), .bool(story.audioGenerated),
                story.hasAudioURL ? .text(story.audioURL) : .null, story.hasAudioDuration ? .double(story.audioDuration) : .null,
                .time(now), .text(id), .text(userID))
            return .with { $0.story = story }
        }
    }

    public func deleteStory(request: Atelier_Catalog_V1_DeleteStoryRequest, context: ServerContext) async throws -> Atelier_Catalog_V1_SuccessResponse {
        let userID = try user()
        let id = try Rules.id(request.storyID, field: "storyId", what: "story")
        try await database.transaction { tx in
            guard let row = try await tx.first("DELETE FROM stories WHERE id = $1 AND user_id = $2 RETURNING hero_id", .text(id), .text(userID)) else {
                throw ServiceError.notFound("story")
            }
            if let hero = try row.optionalString("hero_id") {
                try await tx.query("UPDATE heroes SET story_count = story_count - 1 WHERE id = $1", .text(hero))
            }
            try await tx.query("DELETE FROM illustrations WHERE story_id = $1", .text(id))
        }
        return .with { $0.success = true }
    }

    public func recordListen(request: Atelier_Catalog_V1_RecordListenRequest, context: ServerContext) async throws -> Atelier_Catalog_V1_RecordListenResponse {
        let userID = try user()
        let id = try Rules.id(request.storyID, field: "storyId", what: "story")
        let now = Date.databaseNow
        guard let row = try await database.first(
            "UPDATE stories SET listen_count = listen_count + 1, last_listened_at = $1 WHERE id = $2 AND user_id = $3 RETURNING listen_count",
            .time(now), .text(id), .text(userID))
        else { throw ServiceError.notFound("story") }
        let count = try row.int("listen_count")
        return .with {
            $0.listenCount = count
            $0.lastListenedAt = .init(date: now)
        }
    }

    public func listIllustrations(request: Atelier_Catalog_V1_ListIllustrationsRequest, context: ServerContext) async throws -> Atelier_Catalog_V1_ListIllustrationsResponse {
        let userID = try user()
        let id = try Rules.id(request.storyID, field: "storyId", what: "story")
        let story = try await Self.story(database, id: id, user: userID)
        let illustrations = try await Self.illustrations(database, story: id)
        return .with {
            $0.illustrations = illustrations
            if story.hasAudioDuration { $0.totalDuration = story.audioDuration }
        }
    }

    public func deleteIllustration(request: Atelier_Catalog_V1_DeleteIllustrationRequest, context: ServerContext) async throws -> Atelier_Catalog_V1_SuccessResponse {
        let userID = try user()
        let storyID = try Rules.id(request.storyID, field: "storyId", what: "story")
        let id = try Rules.id(request.illustrationID, field: "illustrationId", what: "illustration")
        try await database.transaction { tx in
            // Locks the story, so two deletes in one story close the gaps one after the other.
            _ = try await Self.lockStory(tx, id: storyID, user: userID)
            guard let row = try await tx.first(
                "DELETE FROM illustrations WHERE id = $1 AND story_id = $2 AND user_id = $3 RETURNING display_order",
                .text(id), .text(storyID), .text(userID))
            else { throw ServiceError.notFound("illustration") }
            try await tx.query("UPDATE illustrations SET display_order = display_order - 1 WHERE story_id = $1 AND display_order > $2",
                               .text(storyID), .int(try row.int("display_order")))
            try await tx.query("UPDATE stories SET illustration_count = illustration_count - 1 WHERE id = $1", .text(storyID))
        }
        return .with { $0.success = true }
    }

    public func createStory(request: Atelier_Catalog_V1_CreateStoryRequest, context: ServerContext) async throws -> Atelier_Catalog_V1_StoryResponse {
        let userID = try serviceSubject(request.userID)
        let heroID = try Rules.id(request.heroID, field: "heroId", what: "hero")
        let title = try Rules.required(request.title, field: "title", max: 200)
        let content = try Rules.required(request.content, field: "content", max: 50_000)
        let language = request.language.isEmpty ? "en" : try Rules.oneOf(request.language, field: "language", allowed: Self.languages)
        let eventType = try Rules.text(request.eventType, field: "eventType", max: 50)
        let customEventID = request.customEventID.isEmpty ? nil : try Rules.id(request.customEventID, field: "customEventId", what: "custom event")
        let customPrompt = try Rules.text(request.customEventPrompt, field: "customEventPrompt", max: 4000)
        guard eventType != nil || customEventID != nil else {
            throw ServiceError.invalid("eventType", "eventType is required unless customEventId is given")
        }
        let key = try Rules.idempotencyKey(request.idempotencyKey)
        let id = SecureRandom.id(prefix: "story")
        let now = Date.databaseNow
        let database = database
        return try await idempotent(key, existing: {
            guard let key, let row = try await database.first(
                "SELECT s.id FROM stories s WHERE s.user_id = $1 AND s.idempotency_key = $2", .text(userID), .text(key))
            else { return nil }
            let story = try await Self.story(database, id: try row.string("id"), user: userID)
            return Atelier_Catalog_V1_StoryResponse.with { $0.story = story }
        }, create: {
            try await database.transaction { tx in
                _ = try await Self.hero(tx, id: heroID, user: userID)
                if let customEventID {
                    guard !(try await tx.query(
                        "UPDATE custom_events SET usage_count = usage_count + 1, last_used_at = $1 WHERE id = $2 AND user_id = $3 RETURNING id",
                        .time(now), .text(customEventID), .text(userID))).isEmpty
                    else { throw ServiceError.notFound("custom event") }
                }
                try await tx.query("""
                    INSERT INTO stories (id, user_id, hero_id, title, content, language, event_type, custom_event_id, custom_event_prompt,
                                         idempotency_key, created_at, updated_at)
                    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11)
                    """, .text(id), .text(userID), .text(heroID), .text(title), .text(content), .text(language), .optional(eventType),
                    .optional(customEventID), .optional(customPrompt), .optional(key), .time(now))
                try await tx.query("UPDATE heroes SET story_count = story_count + 1 WHERE id = $1", .text(heroID))
                let story = try await Self.story(tx, id: id, user: userID)
                return .with { $0.story = story }
            }
        })
    }

    public func addIllustration(request: Atelier_Catalog_V1_AddIllustrationRequest, context: ServerContext) async throws -> Atelier_Catalog_V1_IllustrationResponse {
        let userID = try serviceSubject(request.userID)
        let storyID = try Rules.id(request.storyID, field: "storyId", what: "story")
        let imageURL = try Rules.url(request.imageURL, field: "imageUrl", required: true) ?? ""
        let prompt = try Rules.required(request.prompt, field: "prompt", max: 4000)
        let generationID = try Rules.text(request.generationID, field: "generationId", max: 200)
        guard request.timestamp >= 0, request.timestamp <= 36_000 else { throw ServiceError.invalid("timestamp", "timestamp must be 0 to 36000 seconds") }
        if request.hasDuration, !(0...36_000).contains(request.duration) {
            throw ServiceError.invalid("duration", "duration must be 0 to 36000 seconds")
        }
        let status = request.generationStatus.isEmpty ? "completed"
            : try Rules.oneOf(request.generationStatus, field: "generationStatus", allowed: Self.illustrationStatuses)
        let key = try Rules.idempotencyKey(request.idempotencyKey)
        let id = SecureRandom.id(prefix: "ill")
        let now = Date.databaseNow
        let database = database
        return try await idempotent(key, existing: {
            guard let key, let row = try await database.first(
                "SELECT \(Self.illustrationColumns) FROM illustrations WHERE user_id = $1 AND idempotency_key = $2", .text(userID), .text(key))
            else { return nil }
            let illustration = try Self.illustration(row)
            return Atelier_Catalog_V1_IllustrationResponse.with { $0.illustration = illustration }
        }, create: {
            try await database.transaction { tx in
                let order = try await Self.lockStory(tx, id: storyID, user: userID)
                try await tx.query("""
                    INSERT INTO illustrations (id, story_id, user_id, image_url, prompt, generation_id, timestamp_seconds, duration_seconds,
                                               display_order, generation_status, idempotency_key, created_at, updated_at)
                    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $12)
                    """, .text(id), .text(storyID), .text(userID), .text(imageURL), .text(prompt), .optional(generationID),
                    .double(request.timestamp), request.hasDuration ? .double(request.duration) : .null, .int(order), .text(status),
                    .optional(key), .time(now))
                try await tx.query("UPDATE stories SET illustration_count = illustration_count + 1 WHERE id = $1", .text(storyID))
                return .with { $0.illustration = .with {
                    $0.id = id
                    $0.storyID = storyID
                    $0.imageURL = imageURL
                    $0.prompt = prompt
                    if let generationID { $0.generationID = generationID }
                    $0.timestamp = request.timestamp
                    if request.hasDuration { $0.duration = request.duration }
                    $0.displayOrder = Int32(order)
                    $0.generationStatus = status
                    $0.createdAt = .init(date: now)
                } }
            }
        })
    }

    // MARK: Rows

    /// Locks the caller's story row for the transaction and returns its illustration count,
    /// which is also the next display order.
    static func lockStory(_ tx: any SQLExecutor, id: String, user: String) async throws -> Int64 {
        let lock = tx.dialect == .postgres ? " FOR UPDATE" : ""
        guard let row = try await tx.first("SELECT illustration_count FROM stories WHERE id = $1 AND user_id = $2\(lock)", .text(id), .text(user)) else {
            throw ServiceError.notFound("story")
        }
        return try row.int("illustration_count")
    }

    static func story(_ db: any SQLExecutor, id: String, user: String) async throws -> Atelier_Catalog_V1_Story {
        guard let row = try await db.first("SELECT \(storyColumns) FROM \(storyFrom) WHERE s.id = $1 AND s.user_id = $2", .text(id), .text(user)) else {
            throw ServiceError.notFound("story")
        }
        return try story(row)
    }

    static func story(_ row: SQLRow) throws -> Atelier_Catalog_V1_Story {
        var story = Atelier_Catalog_V1_Story()
        story.id = try row.string("id")
        if let heroID = try row.optionalString("hero_id") {
            story.heroID = heroID
            let name = try row.optionalString("hero_name") ?? ""
            story.heroName = name
            story.hero = .with {
                $0.id = heroID
                $0.name = name
            }
            if let avatar = try row.optionalString("hero_avatar_url") { story.hero.avatarURL = avatar }
        }
        story.title = try row.string("title")
        story.content = try row.string("content")
        story.language = try row.string("language")
        if let value = try row.optionalString("event_type") { story.eventType = value }
        if let value = try row.optionalString("custom_event_id") { story.customEventID = value }
        if let value = try row.optionalString("audio_url") { story.audioURL = value }
        story.audioGenerated = try row.bool("audio_generated")
        if let value = try row.optionalDouble("audio_duration") { story.audioDuration = value }
        if let value = try row.optionalString("voice_type") { story.voiceType = value }
        story.illustrationCount = try row.int("illustration_count")
        story.listenCount = try row.int("listen_count")
        if let value = try row.optionalTimestamp("last_listened_at") { story.lastListenedAt = value }
        story.isFavorite = try row.bool("is_favorite")
        story.createdAt = try row.timestamp("created_at")
        story.updatedAt = try row.timestamp("updated_at")
        return story
    }

    static func illustrations(_ db: any SQLExecutor, story: String) async throws -> [Atelier_Catalog_V1_Illustration] {
        try await db.query("SELECT \(illustrationColumns) FROM illustrations WHERE story_id = $1 ORDER BY display_order", .text(story))
            .map(illustration)
    }

    static func illustration(_ row: SQLRow) throws -> Atelier_Catalog_V1_Illustration {
        var illustration = Atelier_Catalog_V1_Illustration()
        illustration.id = try row.string("id")
        illustration.storyID = try row.string("story_id")
        illustration.imageURL = try row.string("image_url")
        illustration.prompt = try row.string("prompt")
        if let value = try row.optionalString("generation_id") { illustration.generationID = value }
        illustration.timestamp = try row.double("timestamp_seconds")
        if let value = try row.optionalDouble("duration_seconds") { illustration.duration = value }
        illustration.displayOrder = Int32(clamping: try row.int("display_order"))
        illustration.generationStatus = try row.string("generation_status")
        if let value = try row.optionalString("error_message") { illustration.errorMessage = value }
        illustration.createdAt = try row.timestamp("created_at")
        return illustration
    }
}
