import AtelierProtos
import Foundation
import GRPCCore
import ServiceKit

/// Stories and their illustrations (PRD 6.3 and 6.5). Generation writes them; owners read,
/// edit, favourite, count listens and delete.
extension CatalogRPC {
    static let illustrationStatuses = ["pending", "generating", "completed", "failed"]

    public func listStories(request: Atelier_Catalog_V1_ListStoriesRequest, context: ServerContext) async throws -> Atelier_Catalog_V1_ListStoriesResponse {
        let userID = try user()
        let page = try Page(limit: request.limit, offset: request.offset)
        let order = try ListOrder(sortBy: request.sortBy, order: request.sortOrder,
                                  fields: ["createdAt": "created_at", "listenCount": "listen_count"])
        var conditions: [SQL] = []
        if !request.heroID.isEmpty { conditions.append("s.hero_id = \(try Rules.id(request.heroID, field: "heroId", what: "hero"))") }
        if let eventType = try Rules.text(request.eventType, field: "eventType", max: 50) { conditions.append("s.event_type = \(eventType)") }
        if !request.language.isEmpty {
            conditions.append("s.language = \(try Rules.oneOf(request.language, field: "language", allowed: StoryStore.languages))")
        }
        if request.hasIsFavorite { conditions.append("s.is_favorite = \(request.isFavorite)") }
        let found = try await StoryStore.table.page(database, owner: userID, where: conditions, order: order, page: page)
        return .with { $0.stories = found.items; $0.pagination = found.pagination }
    }

    public func getStory(request: Atelier_Catalog_V1_GetStoryRequest, context: ServerContext) async throws -> Atelier_Catalog_V1_StoryResponse {
        var story = try await owned(StoryStore.table, request.storyID, field: "storyId")
        if !request.hasIncludeIllustrations || request.includeIllustrations {
            story.illustrations = try await StoryStore.illustrations(database, story: story.id)
        }
        let found = story
        return .with { $0.story = found }
    }

    /// Generation calls this for the user (PATCH /api/stories/{id} is generation's route).
    public func updateStory(request: Atelier_Catalog_V1_UpdateStoryRequest, context: ServerContext) async throws -> Atelier_Catalog_V1_StoryResponse {
        let owner = try serviceSubject(request.userID)
        let title = request.hasTitle ? try Rules.required(request.title, field: "title", max: 200) : nil
        let content = request.hasContent ? try Rules.required(request.content, field: "content", max: 50_000) : nil
        let story = try await changeOwned(StoryStore.table, request.storyID, field: "storyId", owner: owner, { story in
            story.title = title ?? story.title
            if let content, content != story.content {
                story.content = content
                // The narration no longer matches the text: it must be made again.
                story.audioGenerated = false
                story.clearAudioURL()
                story.clearAudioDuration()
            }
            if request.hasIsFavorite { story.isFavorite = request.isFavorite }
        }, write: StoryStore.update)
        return .with { $0.story = story }
    }

    public func deleteStory(request: Atelier_Catalog_V1_DeleteStoryRequest, context: ServerContext) async throws -> Atelier_Catalog_V1_SuccessResponse {
        let userID = try user()
        let id = try Rules.id(request.storyID, field: "storyId", what: "story")
        try await database.transaction { tx in try await StoryStore.delete(tx, id: id, user: userID) }
        return .with { $0.success = true }
    }

    public func recordListen(request: Atelier_Catalog_V1_RecordListenRequest, context: ServerContext) async throws -> Atelier_Catalog_V1_RecordListenResponse {
        let userID = try user()
        let id = try Rules.id(request.storyID, field: "storyId", what: "story")
        let now = Date.databaseNow
        let count = try await StoryStore.recordListen(database, id: id, user: userID, at: now)
        return .with {
            $0.listenCount = count
            $0.lastListenedAt = .init(date: now)
        }
    }

    public func listIllustrations(request: Atelier_Catalog_V1_ListIllustrationsRequest, context: ServerContext) async throws -> Atelier_Catalog_V1_ListIllustrationsResponse {
        let story = try await owned(StoryStore.table, request.storyID, field: "storyId")
        let illustrations = try await StoryStore.illustrations(database, story: story.id)
        return .with {
            $0.illustrations = illustrations
            if story.hasAudioDuration { $0.totalDuration = story.audioDuration }
        }
    }

    public func deleteIllustration(request: Atelier_Catalog_V1_DeleteIllustrationRequest, context: ServerContext) async throws -> Atelier_Catalog_V1_SuccessResponse {
        let userID = try user()
        let storyID = try Rules.id(request.storyID, field: "storyId", what: "story")
        let id = try Rules.id(request.illustrationID, field: "illustrationId", what: "illustration")
        try await database.transaction { tx in try await StoryStore.deleteIllustration(tx, id: id, story: storyID, user: userID) }
        return .with { $0.success = true }
    }

    public func createStory(request: Atelier_Catalog_V1_CreateStoryRequest, context: ServerContext) async throws -> Atelier_Catalog_V1_StoryResponse {
        let userID = try serviceSubject(request.userID)
        var story = Story()
        story.id = SecureRandom.id(prefix: "story")
        story.heroID = try Rules.id(request.heroID, field: "heroId", what: "hero")
        story.title = try Rules.required(request.title, field: "title", max: 200)
        story.content = try Rules.required(request.content, field: "content", max: 50_000)
        story.language = request.language.isEmpty ? "en" : try Rules.oneOf(request.language, field: "language", allowed: StoryStore.languages)
        if let eventType = try Rules.text(request.eventType, field: "eventType", max: 50) { story.eventType = eventType }
        if !request.customEventID.isEmpty {
            story.customEventID = try Rules.id(request.customEventID, field: "customEventId", what: "custom event")
        }
        let customPrompt = try Rules.text(request.customEventPrompt, field: "customEventPrompt", max: 4000)
        guard story.hasEventType || story.hasCustomEventID else {
            throw ServiceError.invalid("eventType", "eventType is required unless customEventId is given")
        }
        let key = try Rules.idempotencyKey(request.idempotencyKey)
        let now = Date.databaseNow
        story.createdAt = .init(date: now)
        story.updatedAt = .init(date: now)
        let draft = story
        let created = try await createOnce(StoryStore.table, owner: userID, key: key) { tx in
            try await StoryStore.insert(tx, draft, user: userID, customPrompt: customPrompt, key: key)
            return try await StoryStore.table.get(tx, id: draft.id, owner: userID)
        }
        return .with { $0.story = created }
    }

    public func setStoryAudio(request: Atelier_Catalog_V1_SetStoryAudioRequest, context: ServerContext) async throws -> Atelier_Catalog_V1_StoryResponse {
        let userID = try serviceSubject(request.userID)
        let id = try Rules.id(request.storyID, field: "storyId", what: "story")
        let url = try Rules.url(request.audioURL, field: "audioUrl", required: true) ?? ""
        guard request.audioDuration > 0, request.audioDuration <= 36_000 else {
            throw ServiceError.invalid("audioDuration", "audioDuration must be more than 0 and at most 36000 seconds")
        }
        let voice = try Rules.text(request.voiceType, field: "voiceType", max: 50)
        let now = Date.databaseNow
        let story = try await database.transaction { tx in
            var story = try await StoryStore.table.get(tx, id: id, owner: userID, lock: true)
            // A narration of text the owner has since changed would not match what they read.
            if !request.contentSha256.isEmpty, request.contentSha256 != ContentDigest.sha256(story.content) {
                throw ServiceError(.failedPrecondition, reason: "STORY_CHANGED", "the story changed while it was narrated")
            }
            story.audioURL = url
            story.audioGenerated = true
            story.audioDuration = request.audioDuration
            if let voice { story.voiceType = voice } else { story.clearVoiceType() }
            story.updatedAt = .init(date: now)
            try await StoryStore.update(tx, story, user: userID)
            return story
        }
        return .with { $0.story = story }
    }

    public func addIllustration(request: Atelier_Catalog_V1_AddIllustrationRequest, context: ServerContext) async throws -> Atelier_Catalog_V1_IllustrationResponse {
        let userID = try serviceSubject(request.userID)
        var illustration = Illustration()
        illustration.id = SecureRandom.id(prefix: "ill")
        illustration.storyID = try Rules.id(request.storyID, field: "storyId", what: "story")
        illustration.imageURL = try Rules.url(request.imageURL, field: "imageUrl", required: true) ?? ""
        illustration.prompt = try Rules.required(request.prompt, field: "prompt", max: 4000)
        if let generationID = try Rules.text(request.generationID, field: "generationId", max: 200) { illustration.generationID = generationID }
        guard request.timestamp >= 0, request.timestamp <= 36_000 else { throw ServiceError.invalid("timestamp", "timestamp must be 0 to 36000 seconds") }
        illustration.timestamp = request.timestamp
        if request.hasDuration {
            guard (0...36_000).contains(request.duration) else { throw ServiceError.invalid("duration", "duration must be 0 to 36000 seconds") }
            illustration.duration = request.duration
        }
        illustration.generationStatus = request.generationStatus.isEmpty ? "completed"
            : try Rules.oneOf(request.generationStatus, field: "generationStatus", allowed: Self.illustrationStatuses)
        illustration.createdAt = .init(date: Date.databaseNow)
        let key = try Rules.idempotencyKey(request.idempotencyKey)
        let draft = illustration
        let added = try await createOnce(StoryStore.illustrationTable, owner: userID, key: key) { tx in
            try await StoryStore.addIllustration(tx, draft, user: userID, key: key)
        }
        return .with { $0.illustration = added }
    }
}
