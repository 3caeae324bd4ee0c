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
                "heroId": hero.id, "heroName": hero.name, "heroAge": String(hero.age), "traits": hero.traits.joined(separator: "\n"),
                "abilities": hero.abilities.joined(separator: "\n"), "appearance": hero.appearance, "language": language, "voice": voice,
                "generateAudio": input.hasGenerateAudio && !input.generateAudio ? "false" : "true",
                "narrationJobId": SecureRandom.id(prefix: "job"), "seed": String(Int64.random(in: 0...Int64(Int32.max))),
            ]
            if !input.eventType.isEmpty { fields["eventType"] = input.eventType }
            if !input.customEventID.isEmpty {
                let event = try await peers.customEvent(input.customEventID, userToken: token)
                fields["customEventId"] = event.id
                fields["customTitle"] = event.title
                if !event.promptSeed.isEmpty { fields["customPrompt"] = event.promptSeed }
            }
            job = try await submit(kind: "story", user: user, plan: Self.plan(principal), characterID: "", input: fields,
                                   operation: "story", units: 1, key: key)
        }
        // The PRD answers with the story: wait for it, up to the limit, then answer with the job.
        let deadline = ContinuousClock.now + settings.syncWait
        while !JobStore.isFinished(job.status), ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(50))
            job = try await JobStore.table.get(database, id: job.id, owner: user)
        }
        if job.status == "failed" {
            throw ServiceError(.unavailable, reason: job.errorCode.isEmpty ? "STORY_NOT_WRITTEN" : job.errorCode,
                               "the story could not be written: \(job.errorMessage)")
        }
        let narrationID = job.input["generateAudio"] == "true" ? job.input["narrationJobId"] ?? "" : ""
        var reply = Atelier_Generation_V1_CreateStoryResponse()
        reply.job = Self.storyJob(job)
        reply.jobs.audioGeneration = .with {
            $0.queued = !narrationID.isEmpty
            $0.jobID = narrationID
            if !narrationID.isEmpty { $0.estimatedCompletionTime = .init(date: Date().addingTimeInterval(Self.narrationEstimate(words: 500))) }
        }
        guard job.status == "succeeded" else {
            return ServerResponse(message: reply, metadata: [HTTPStatusHint.metadataKey: "202"])
        }
        reply.story = try await peers.story(job.storyID, userToken: token)
        return ServerResponse(message: reply)
    }

    func generateStoryAudio(request: ServerRequest<Atelier_Generation_V1_GenerateStoryAudioRequest>,
                            context: ServerContext) async throws -> ServerResponse<Atelier_Generation_V1_StoryJobResponse> {
        let input = request.message
        let (user, _, principal) = try Caller.user()
        let storyID = try Self.required(input.storyID, field: "storyId")
        let voice = try Self.voice(input.voice)
        let priority = input.priority.isEmpty ? "normal" : input.priority
        guard ["low", "normal", "high"].contains(priority) else { throw ServiceError.invalid("priority", "priority must be low, normal or high") }
        let key = try Self.idempotencyKey(request.metadata)
        if let key, let existing = try await find(user: user, key: key) { return ServerResponse(message: .with { $0.job = Self.storyJob(existing) }) }
        let story = try await peers.story(storyID, userToken: try Self.token(request.metadata))
        // The priority is recorded with the job; the plan's rank orders the queue (README).
        let job = try await submit(kind: "narration", user: user, plan: Self.plan(principal), characterID: "",
                                   input: StoryJobs.narrationInput(story: story, voice: voice).merging(["priority": priority]) { $1 },
                                   operation: "", units: 0, key: key, storyID: story.id)
        return ServerResponse(message: .with { $0.job = Self.storyJob(job, words: story.content.split(separator: " ").count) })
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
