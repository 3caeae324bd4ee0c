import AtelierProtos
import Foundation
import ServiceKit

/// The PRD's illustrations (section 9, "Multi-Turn Image Generation"), as a job: the scenes are
/// picked from the story, timed by word count across its narration (or at the timestamps the user
/// gave), and drawn one after another, each chained to the one before, the first to the hero's
/// avatar, so the hero stays recognisable. Each is stored and saved in the catalog under the job's
/// key as it is made; a cancel is honoured between them.
struct IllustrationJobs: Sendable {
    let runner: JobRunner
    let peers: Peers
    let providers: ProviderSet
    let results: ResultStore

    func draw(_ claimed: JobStore.Claimed) async throws -> JobRunner.Outcome {
        let job = claimed.job, input = job.input
        let count = min(5, max(1, Int(input["count"] ?? "") ?? 3))
        let content = input["content"] ?? ""
        let control = runner.control(claimed)
        let filter = ContentFilter(level: input["filterLevel"] ?? "moderate")
        let language = input["language"] ?? "en"

        let extractor = providers.scenes
        let (scenes, call) = try await providers.run("text") {
            try await extractor.scenes(title: input["title"] ?? "", content: content, count: count, control: control)
        }
        if let call { await runner.meter(claimed, step: "scenes", call) }
        try await runner.progress(claimed, 10, "\(count) scenes chosen")

        let words = SceneTiming.wordCount(content)
        let duration = Double(input["audioDuration"] ?? "") ?? SceneTiming.estimatedDuration(words: words)
        let given = (input["timestamps"] ?? "").split(separator: ",").compactMap { Double($0) }
        let times = given.count == count ? SceneTiming.given(given, duration: duration) : SceneTiming.times(scenes, totalWords: words, duration: duration)
        let palette = Palette(skin: input["skinTone"], hair: input["hairColor"], eyes: input["eyeColor"], clothing: input["characterClothing"])
        let seed = Int64(input["seed"] ?? "") ?? 0

        var previous = input["previousGenerationId"] ?? ""
        for (index, scene) in scenes.enumerated() {
            try await runner.checkCanceled(job.id)
            let prompt = Self.prompt(scene: filter.soften(scene.description, language: language), hero: input["heroPrompt"] ?? "",
                                     style: input["artStyle"] ?? "", previous: previous)
            // The chain: each picture's seed comes from the one before it, starting at the avatar's.
            let chained = seed ^ Int64(bitPattern: UInt64(ContentDigest.sha256(previous).prefix(16), radix: 16) ?? 0)
            let request = ImageRequest(prompt: prompt, seed: chained, count: 1, palette: palette, steps: 35, control: control)
            let file = try await providers.picture(request, kind: "illustrations", metered: { await runner.meter(claimed, step: "image-\(index)", $0) })
            let stored = try await results.store(file, job: job.id, index: index)
            let generationID = "\(job.id):\(index)"
            _ = try await peers.addIllustration(.with {
                $0.userID = claimed.userID
                $0.storyID = job.storyID
                $0.imageURL = stored.url
                $0.prompt = String(prompt.prefix(4000))
                $0.generationID = generationID
                $0.timestamp = times[index].timestamp
                $0.duration = times[index].duration
                $0.generationStatus = "completed"
                $0.idempotencyKey = generationID
            })
            previous = generationID
            try await runner.progress(claimed, 10 + 90 * (index + 1) / count - (index + 1 == count ? 1 : 0), "\(index + 1) of \(count) illustrations ready")
        }
        return JobRunner.Outcome(storyID: job.storyID, message: "\(count) illustrations ready")
    }

    /// How the hero is drawn in every illustration, read from the hero when the request is made:
    /// the visual profile the avatar left (else the owner's words, filtered), its colours, and the
    /// avatar's generation id the chain starts from.
    static func look(of hero: Atelier_Catalog_V1_Hero, filter: ContentFilter, language: String) throws -> [String: String] {
        let profile = hero.visualProfile
        let appearance = try filter.clean([("appearance", hero.appearance)], language: language)[0]
        let name = hero.name
        var look: [String: String] = [
            "heroPrompt": profile.hasSimplifiedPrompt && !profile.simplifiedPrompt.isEmpty
                ? profile.simplifiedPrompt : "\(name), a \(hero.age)-year-old child\(appearance.isEmpty ? "" : ": \(appearance)")",
        ]
        if profile.hasArtStyle { look["artStyle"] = profile.artStyle }
        if hero.hasAvatarGenerationID { look["previousGenerationId"] = hero.avatarGenerationID }
        let colours = profile.hasHairColor || profile.hasEyeColor ? profile
            : LocalVisualProfiler.derive(HeroSketch(name: name, age: Int(hero.age), traits: [], abilities: [], appearance: appearance))
        return look.merging(GenerationRPC.colours(of: colours)) { $1 }
    }

    /// A job's input: the story's text and timing with the hero's look.
    static func input(story: Atelier_Catalog_V1_Story, count: Int, timestamps: [Double], look: [String: String],
                      filterLevel: String) -> [String: String] {
        var input = look
        input["storyId"] = story.id
        input["title"] = story.title
        input["content"] = story.content
        input["language"] = story.language
        input["count"] = String(count)
        input["filterLevel"] = filterLevel
        input["seed"] = String(Int64.random(in: 0...Int64(Int32.max)))
        if story.audioGenerated, story.hasAudioDuration { input["audioDuration"] = String(story.audioDuration) }
        if !timestamps.isEmpty { input["timestamps"] = timestamps.map { String($0) }.joined(separator: ",") }
        return input
    }

    static func prompt(scene: String, hero: String, style: String, previous: String) -> String {
        var parts = ["A children's picture-book illustration, \(style.isEmpty ? "soft watercolour" : style)."]
        if !hero.isEmpty { parts.append("The hero: \(hero).") }
        parts.append("The scene: \(scene)")
        if !previous.isEmpty { parts.append("Draw the hero exactly as in the previous picture (\(previous)): same face, hair, clothes and colours.") }
        return parts.joined(separator: " ")
    }
}
