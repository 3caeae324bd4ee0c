import AtelierProtos
import Foundation
import ServiceKit

/// A hero's avatar, as a job (PRD 6.2's process): the picture from the prompt built at submit
/// (already filtered), stored, then the visual profile written down from the hero's description,
/// and both saved on the hero with the job's id as the generation id illustrations chain from.
struct HeroJobs: Sendable {
    let runner: JobRunner
    let peers: Peers
    let providers: ProviderSet
    let results: ResultStore

    func avatar(_ claimed: JobStore.Claimed) async throws -> JobRunner.Outcome {
        let job = claimed.job, input = job.input
        let prompt = input["prompt"] ?? ""
        let control = runner.control(claimed)
        let palette = Palette(skin: input["skinTone"], hair: input["hairColor"], eyes: input["eyeColor"], clothing: input["characterClothing"])
        let request = ImageRequest(prompt: prompt, seed: Int64(input["seed"] ?? "") ?? 0, count: 1, palette: palette, steps: 35, control: control)
        let file = try await providers.picture(request, kind: "avatar", metered: { await runner.meter(claimed, step: "image", $0) })
        let stored = try await results.store(file, job: job.id, index: 0)
        try await runner.progress(claimed, 60, "the avatar is drawn")

        let hero = HeroSketch(name: input["heroName"] ?? "", age: Int(input["heroAge"] ?? "") ?? 7, traits: StoryJobs.list(input["traits"]),
                              abilities: StoryJobs.list(input["abilities"]), appearance: input["appearance"] ?? "")
        let profiler = providers.profiler
        let (profile, call) = try await providers.run("text") { try await profiler.profile(hero, control: control) }
        if let call { await runner.meter(claimed, step: "profile", call) }
        var saved = profile
        saved.canonicalPrompt = String(prompt.prefix(4000))
        _ = try await peers.setHeroAvatar(.with {
            $0.userID = claimed.userID
            $0.heroID = input["heroId"] ?? ""
            $0.avatarURL = stored.url
            $0.avatarPrompt = String(prompt.prefix(4000))
            $0.avatarGenerationID = job.id
            $0.visualProfile = saved
        })
        return JobRunner.Outcome(message: "the avatar of \(hero.name) is ready")
    }
}
