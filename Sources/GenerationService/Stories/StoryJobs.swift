import AtelierProtos
import Foundation
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
        if input["generateAudio"] == "true", let narrationID = input["narrationJobId"] {
            var narration = Job()
            narration.id = narrationID
            narration.kind = "narration"
            narration.status = "queued"
            narration.storyID = story.id
            narration.input = Self.narrationInput(story: story, voice: input["voice"] ?? "nova")
            narration.maxAttempts = job.maxAttempts
            narration.charge = "none"
            narration.priority = job.priority
            let now = Date.databaseNow
            narration.createdAt = .init(date: now)
            narration.updatedAt = narration.createdAt
            try await runner.chain(narration, after: claimed)
        }
        return JobRunner.Outcome(storyID: story.id, message: "the story \"\(written.title)\" is written")
    }

    func narrate(_ claimed: JobStore.Claimed) async throws -> JobRunner.Outcome {
        let job = claimed.job, input = job.input
        let text = input["content"] ?? ""
        guard !text.isEmpty else { throw ProviderError(code: "STORY_EMPTY", message: "the story has no text to narrate", retryable: false) }
        let voice = input["voice"] ?? "nova"
        let request = SpeechRequest(text: text, voice: voice, language: input["language"] ?? "en", control: runner.control(claimed))
        let speech = try await providers.run("narration") { try await providers.speech.speak(request) }
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

    static func list(_ joined: String?) -> [String] {
        (joined ?? "").split(separator: "\n").map(String.init).filter { !$0.isEmpty }
    }
}
