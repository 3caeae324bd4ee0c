import AtelierProtos
import Foundation
import GRPCCore
import ServiceKit

/// The PRD's chain, as jobs: a story job writes the story and saves it in the catalog (once,
/// under the job's id), then queues its narration; a narration job reads the text it was given,
/// speaks it, stores the audio and records it on the story (refused if the text has changed).
struct StoryJobs: Sendable {
    let runner: JobRunner
    let peers: Peers
    let providers: ProviderSet
    let results: ResultStore

    func write(_ claimed: JobStore.Claimed) async throws -> JobRunner.Outcome {
        let job = claimed.job, input = job.input
        let brief = StoryBrief(
            heroName: input["heroName"] ?? "", age: Int(input["heroAge"] ?? "") ?? 7, traits: Self.list(input["traits"]),
            abilities: Self.list(input["abilities"]), appearance: input["appearance"] ?? "", language: input["language"] ?? "en",
            eventType: input["eventType"], customTitle: input["customTitle"], customPrompt: input["customPrompt"],
            seed: Int64(input["seed"] ?? "") ?? 0)
        let control = runner.control(claimed)
        let written = try await providers.run("story") { try await providers.story.write(brief, control: control) }
        await runner.meter(claimed, step: "story", MeteredCall(
            operation: "story_generation", provider: written.provider, model: written.model,
            inputTokens: written.promptTokens, outputTokens: written.completionTokens))
        try await runner.progress(claimed, 60, "the story is written")
        let story = try await peers.createStory(.with {
            $0.userID = claimed.userID
            $0.heroID = input["heroId"] ?? ""
            $0.title = written.title
            $0.content = written.content
            $0.language = brief.language
            if let event = brief.eventType { $0.eventType = event }
            if let custom = input["customEventId"] { $0.customEventID = custom }
            if let prompt = brief.customPrompt { $0.customEventPrompt = prompt }
            $0.idempotencyKey = job.id
        })
        var queued: [String] = []
        // Its narration is part of the story's price, up to one speech call's worth of text;
        // each further 4,096 characters is a narration of the plan's (held before it is queued).
        if input["generateAudio"] == "true", let narrationID = input["narrationJobId"] {
            var narration = chainedJob(narrationID, kind: "narration", after: claimed, story: story)
            narration.input = Self.narrationInput(story: story, voice: input["voice"] ?? "nova")
            if try await queue(narration, after: claimed, operation: "narration", units: Self.narrationUnits(story.content) - 1) {
                queued.append("its narration")
            }
        }
        if let illustrationsID = input["illustrationsJobId"] {
            let count = min(5, max(1, Int(input["illustrationCount"] ?? "") ?? 3))
            var illustrations = chainedJob(illustrationsID, kind: "illustrations", after: claimed, story: story)
            let look = input.filter { $0.key.hasPrefix("look.") }.reduce(into: [String: String]()) { $0[String($1.key.dropFirst(5))] = $1.value }
            illustrations.input = IllustrationJobs.input(story: story, count: count, timestamps: [], look: look,
                                                         filterLevel: input["filterLevel"] ?? "moderate")
            if try await queue(illustrations, after: claimed, operation: "illustration", units: count) { queued.append("\(count) illustrations") }
        }
        let then = queued.isEmpty ? "" : "; queued " + queued.joined(separator: " and ")
        return JobRunner.Outcome(storyID: story.id, message: "the story \"\(written.title)\" is written\(then)")
    }

    private func chainedJob(_ id: String, kind: String, after claimed: JobStore.Claimed, story: Atelier_Catalog_V1_Story) -> Job {
        var next = Job()
        next.id = id
        next.kind = kind
        next.status = "queued"
        next.storyID = story.id
        next.maxAttempts = claimed.job.maxAttempts
        next.charge = "none"
        next.priority = claimed.job.priority
        next.createdAt = .init(date: Date.databaseNow)
        next.updatedAt = next.createdAt
        return next
    }

    /// Holds what the chained job costs (keyed by its id, so a second attempt of the story job
    /// holds nothing more), then queues it. When the balance cannot cover it, it is not queued
    /// and the story job says so; the story itself is kept.
    private func queue(_ next: Job, after claimed: JobStore.Claimed, operation: String, units: Int) async throws -> Bool {
        var job = next
        var holds: [Atelier_Commerce_V1_HoldInfo] = []
        do {
            for unit in 0..<max(0, units) {
                holds.append(try await peers.hold(user: claimed.userID, operation: operation, job: job.id, unit: unit + 1))
            }
        } catch let error as RPCError where [.resourceExhausted, .failedPrecondition].contains(error.code) {
            await peers.release(holds.map(\.id), user: claimed.userID, logger: runner.logger)
            try await runner.progress(claimed, 70, "\(job.kind) not queued: \(error.message)")
            return false
        }
        job.cost = holds.reduce(0) { $0 + $1.amount }
        job.asset = Set(holds.map(\.asset)).sorted().joined(separator: "+")
        job.charge = holds.isEmpty ? "none" : "held"
        try await runner.chain(job, after: claimed, holds: holds.map(\.id))
        return true
    }

    func narrate(_ claimed: JobStore.Claimed) async throws -> JobRunner.Outcome {
        let job = claimed.job, input = job.input
        let text = input["content"] ?? ""
        guard !text.isEmpty else { throw ProviderError(code: "STORY_EMPTY", message: "the story has no text to narrate", retryable: false) }
        let voice = input["voice"] ?? "nova"
        let request = SpeechRequest(text: text, voice: voice, language: input["language"] ?? "en", control: runner.control(claimed))
        let speech = try await providers.run("narration") { try await providers.speech.speak(request) }
        await runner.meter(claimed, step: "speech", MeteredCall(
            operation: "audio_synthesis", provider: providers.speech.name, model: providers.speech.speechModel, characters: speech.characters))
        try await runner.progress(claimed, 80, "narrated: \(Int(speech.durationSeconds.rounded())) s")
        let url = try await results.storeAudio(speech, job: job.id)
        _ = try await peers.setStoryAudio(.with {
            $0.userID = claimed.userID
            $0.storyID = job.storyID
            $0.audioURL = url
            $0.audioDuration = speech.durationSeconds
            $0.voiceType = voice
            $0.contentSha256 = input["contentSha256"] ?? ""
        })
        return JobRunner.Outcome(storyID: job.storyID, message: "the narration is ready (\(Int(speech.durationSeconds.rounded())) s)")
    }

    static func narrationInput(story: Atelier_Catalog_V1_Story, voice: String) -> [String: String] {
        ["content": story.content, "language": story.language, "voice": voice, "contentSha256": ContentDigest.sha256(story.content)]
    }

    /// Narration units a text costs: one per speech call of at most 4,096 characters.
    static func narrationUnits(_ text: String) -> Int {
        max(1, SpeechParts.split(text, limit: CostBound.narrationPartCharacters).count)
    }

    static func list(_ joined: String?) -> [String] {
        (joined ?? "").split(separator: "\n").map(String.init).filter { !$0.isEmpty }
    }
}
