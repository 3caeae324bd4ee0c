import AtelierProtos
import Foundation
import GRPCCore
import ServiceKit

/// The PRD's story routes: a story written by a job (answered 201 when it is ready within the
/// wait, else 202 with the job), its narration, and the narration's status.
extension GenerationRPC {
    static let voices = ["nova", "echo", "alloy", "fable", "onyx", "shimmer", "coral"]
    static let languages = ["en", "es", "fr", "de", "it"]

    func createStory(request: ServerRequest<Atelier_Generation_V1_CreateStoryRequest>,
                     context: ServerContext) async throws -> ServerResponse<Atelier_Generation_V1_CreateStoryResponse> {
        let input = request.message
        let (user, _, principal) = try Caller.user()
        let heroID = try Self.required(input.heroID, field: "heroId")
        let language = input.language.isEmpty ? "en" : input.language
        guard Self.languages.contains(language) else {
            throw ServiceError.invalid("language", "language must be one of \(Self.languages.joined(separator: ", ")), not \(String(language.prefix(20)))")
        }
        guard !input.eventType.isEmpty || !input.customEventID.isEmpty else {
            throw ServiceError.invalid("eventType", "eventType is required unless customEventId is given")
        }
        guard input.eventType.count <= 50, input.eventType.allSatisfy({ $0.isASCII && ($0.isLowercase || $0.isNumber || $0 == "_" || $0 == "-") }) else {
            throw ServiceError.invalid("eventType", "eventType is a name such as bedtime or first_day_of_school: at most 50 lower-case letters, digits, _ and -")
        }
        let voice = try Self.voice(input.voice)
        if input.generateIllustrations {
            guard input.illustrationCount == 0 || (1...5).contains(input.illustrationCount) else {
                throw ServiceError.invalid("illustrationCount", "illustrationCount must be 1 to 5")
            }
        }
        let key = try Self.idempotencyKey(request.metadata)
        let token = try Self.token(request.metadata)
        var job: Job
        if let key, let existing = try await find(user: user, key: key) {
            job = existing
        } else {
            let hero = try await peers.hero(heroID, userToken: token)
            var fields: [String: String] = [
                "heroId": hero.id, "heroAge": String(hero.age), "language": language, "voice": voice,
                "generateAudio": input.hasGenerateAudio && !input.generateAudio ? "false" : "true",
                "narrationJobId": SecureRandom.id(prefix: "job"), "seed": String(Int64.random(in: 0...Int64(Int32.max))),
                "filterLevel": principal.contentFilterLevel,
            ]
            if input.generateIllustrations {
                fields["illustrationsJobId"] = SecureRandom.id(prefix: "job")
                fields["illustrationCount"] = String(input.illustrationCount == 0 ? 3 : input.illustrationCount)
                for (name, value) in try IllustrationJobs.look(of: hero, filter: Self.filter(principal), language: language) {
                    fields["look.\(name)"] = value
                }
            }
            // The blocklist refuses, naming the field; the term filter softens the descriptions but
            // not names and titles, which are the user's labels.
            let filter = Self.filter(principal)
            try filter.check(hero.name, field: "name", language: language)
            let described = try filter.clean([
                ("appearance", hero.appearance), ("traits", hero.traits.joined(separator: "\n")), ("abilities", hero.abilities.joined(separator: "\n")),
            ], language: language)
            fields["heroName"] = hero.name
            (fields["appearance"], fields["traits"], fields["abilities"]) = (described[0], described[1], described[2])
            if !input.eventType.isEmpty { fields["eventType"] = input.eventType }
            if !input.customEventID.isEmpty {
                let event = try await peers.customEvent(input.customEventID, userToken: token)
                try filter.check(event.title, field: "customEvent.title", language: language)
                let seed = try filter.clean([("customEvent.promptSeed", event.promptSeed)], language: language)[0]
                fields["customEventId"] = event.id
                fields["customTitle"] = event.title
                if !seed.isEmpty { fields["customPrompt"] = seed }
            }
            job = try await submit(kind: "story", user: user, plan: Self.plan(principal), characterID: "", input: fields,
                                   operation: "story", units: 1, key: key)
        }
        // The PRD answers with the story: wait for it, up to the limit, then answer with the job.
        job = try await waitBriefly(job, user: user, failing: "STORY_NOT_WRITTEN", "the story could not be written")
        var reply = Atelier_Generation_V1_CreateStoryResponse()
        reply.job = Self.storyJob(job)
        reply.jobs.audioGeneration = try await chained(job, key: "narrationJobId", wanted: job.input["generateAudio"] == "true")
        if job.input["illustrationsJobId"] != nil {
            reply.jobs.illustrationGeneration = try await chained(job, key: "illustrationsJobId", wanted: true)
        }
        guard job.status == "succeeded" else {
            return ServerResponse(message: reply, metadata: [HTTPStatusHint.metadataKey: "202"])
        }
        reply.story = try await peers.story(job.storyID, userToken: token)
        return ServerResponse(message: reply)
    }

    /// A job a story job queues after it: queued once the story is written and the job's cost
    /// was held; while the story is still being written, it is expected.
    private func chained(_ story: Job, key: String, wanted: Bool) async throws -> Atelier_Generation_V1_QueuedJob {
        guard wanted, let id = story.input[key] else { return .with { $0.queued = false } }
        if story.status == "succeeded", try await JobStore.table.find(database, id: id, owner: Caller.user().id) == nil {
            return .with { $0.queued = false }
        }
        return .with {
            $0.queued = true
            $0.jobID = id
            $0.estimatedCompletionTime = .init(date: Date().addingTimeInterval(Self.narrationEstimate(words: 500)))
        }
    }

    func updateStory(request: ServerRequest<Atelier_Generation_V1_UpdateStoryRequest>,
                     context: ServerContext) async throws -> ServerResponse<Atelier_Generation_V1_UpdateStoryResponse> {
        let input = request.message
        let (user, _, principal) = try Caller.user()
        let storyID = try Self.required(input.storyID, field: "storyId")
        let voice = input.voice.isEmpty ? "" : try Self.voice(input.voice)
        let token = try Self.token(request.metadata)
        let before = try await peers.story(storyID, userToken: token)
        let filter = Self.filter(principal)
        if input.hasTitle { try filter.check(input.title, field: "title", language: before.language) }
        if input.hasContent { try filter.check(input.content, field: "content", language: before.language) }
        let story = try await peers.updateStory(.with {
            $0.userID = user
            $0.storyID = before.id
            if input.hasTitle { $0.title = input.title }
            if input.hasContent { $0.content = input.content }
            if input.hasIsFavorite { $0.isFavorite = input.isFavorite }
        })
        var reply = Atelier_Generation_V1_UpdateStoryResponse()
        reply.story = story
        reply.jobs.audioRegeneration.queued = false
        // The PRD: narrated again when asked and the narration no longer matches the text.
        if input.regenerateAudio, !story.audioGenerated {
            let chosen = voice.isEmpty ? (story.hasVoiceType && Self.voices.contains(story.voiceType) ? story.voiceType : "nova") : voice
            let job = try await submitNarration(story: story, voice: chosen, priority: "normal", user: user, principal: principal,
                                                key: try Self.idempotencyKey(request.metadata).map { "\($0):audio" })
            reply.jobs.audioRegeneration = .with {
                $0.queued = true
                $0.jobID = job.id
                $0.estimatedCompletionTime = .init(date: Date().addingTimeInterval(Self.narrationEstimate(words: SceneTiming.wordCount(story.content))))
            }
        }
        return ServerResponse(message: reply)
    }

    /// A narration of the story as it is now: one unit of the narrations allowance (or a credit)
    /// per 4,096 characters started. A narration of the same text already on its way is answered
    /// instead of queuing another.
    func submitNarration(story: Atelier_Catalog_V1_Story, voice: String, priority: String, user: String, principal: Principal,
                         key: String?) async throws -> Job {
        if let key, let existing = try await find(user: user, key: key) { return existing }
        try Self.filter(principal).check(story.content, field: "content", language: story.language)
        let input = StoryJobs.narrationInput(story: story, voice: voice)
        if let open = try await database.first("""
            \(JobStore.table.select) WHERE user_id = \(user) AND kind = 'narration' AND story_id = \(story.id)
            AND status IN ('queued', 'running') ORDER BY created_at DESC LIMIT 1
            """).map(JobStore.table.read), open.input["contentSha256"] == input["contentSha256"], open.input["voice"] == voice {
            return open
        }
        // The priority moves the job within its plan's queue (`JobStore.priorityShift`).
        return try await submit(kind: "narration", user: user, plan: Self.plan(principal), characterID: "",
                                input: input.merging(["priority": priority]) { $1 },
                                operation: "narration", units: StoryJobs.narrationUnits(story.content), key: key, storyID: story.id)
    }

    func generateStoryAudio(request: ServerRequest<Atelier_Generation_V1_GenerateStoryAudioRequest>,
                            context: ServerContext) async throws -> ServerResponse<Atelier_Generation_V1_StoryJobResponse> {
        let input = request.message
        let (user, _, principal) = try Caller.user()
        let storyID = try Self.required(input.storyID, field: "storyId")
        let voice = try Self.voice(input.voice)
        let priority = input.priority.isEmpty ? "normal" : input.priority
        guard ["low", "normal", "high"].contains(priority) else { throw ServiceError.invalid("priority", "priority must be low, normal or high") }
        let story = try await peers.story(storyID, userToken: try Self.token(request.metadata))
        let job = try await submitNarration(story: story, voice: voice, priority: priority, user: user, principal: principal,
                                            key: try Self.idempotencyKey(request.metadata))
        return ServerResponse(message: .with { $0.job = Self.storyJob(job, words: SceneTiming.wordCount(story.content)) })
    }

    func getStoryAudioStatus(request: ServerRequest<Atelier_Generation_V1_GetStoryAudioStatusRequest>,
                             context: ServerContext) async throws -> ServerResponse<Atelier_Generation_V1_StoryAudioStatus> {
        let user = try Caller.user().id
        let storyID = try Self.required(request.message.storyID, field: "storyId")
        let story = try await peers.story(storyID, userToken: try Self.token(request.metadata))
        var status = Atelier_Generation_V1_StoryAudioStatus()
        status.audioGenerated = story.audioGenerated
        if story.audioGenerated {
            if story.hasAudioURL { status.audioURL = story.audioURL }
            if story.hasAudioDuration { status.audioDuration = story.audioDuration }
            status.generatedAt = story.updatedAt
        }
        if let open = try await database.first("""
            \(JobStore.table.select) WHERE user_id = \(user) AND kind = 'narration' AND story_id = \(story.id)
            AND status IN ('queued', 'running') ORDER BY created_at DESC LIMIT 1
            """).map(JobStore.table.read) {
            status.job = Self.storyJob(open, words: story.content.split(separator: " ").count)
        }
        return ServerResponse(message: status)
    }

    static func voice(_ voice: String) throws -> String {
        let chosen = voice.isEmpty ? "nova" : voice
        guard voices.contains(chosen) else { throw ServiceError.invalid("voice", "voice must be one of \(voices.joined(separator: ", "))") }
        return chosen
    }

    /// A narration takes about as long as a provider needs for the words: a few seconds, plus a
    /// second for each 100 words.
    static func narrationEstimate(words: Int) -> TimeInterval { 5 + Double(words) / 100 }

    static func storyJob(_ job: Job, words: Int = 500) -> Atelier_Generation_V1_StoryJob {
        .with {
            $0.id = job.id
            $0.status = job.status == "running" ? "processing" : job.status
            $0.progress = job.progress
            $0.storyID = job.storyID
            $0.errorCode = job.errorCode
            $0.errorMessage = job.errorMessage
            if !JobStore.isFinished(job.status) {
                $0.estimatedCompletionTime = .init(date: Date().addingTimeInterval(narrationEstimate(words: words)))
            }
        }
    }
}
