import AtelierProtos
import Foundation
import GRPCCore
import ServiceKit

/// PRD 6.2's avatar route: the prompt is built from the hero (or the user's own), filtered, and
/// drawn by a job; the reply waits for it like POST /api/stories does.
extension GenerationRPC {
    func generateHeroAvatar(request: ServerRequest<Atelier_Generation_V1_GenerateHeroAvatarRequest>,
                            context: ServerContext) async throws -> ServerResponse<Atelier_Generation_V1_HeroAvatarResponse> {
        let input = request.message
        let (user, _, principal) = try Caller.user()
        let heroID = try Self.required(input.heroID, field: "heroId")
        guard input.customPrompt.count <= 1000 else { throw ServiceError.invalid("customPrompt", "customPrompt must be at most 1000 characters") }
        let key = try Self.idempotencyKey(request.metadata)
        let token = try Self.token(request.metadata)
        var job: Job
        if let key, let existing = try await find(user: user, key: key) {
            job = existing
        } else {
            let hero = try await peers.hero(heroID, userToken: token)
            let filter = Self.filter(principal)
            // Avatar prompts are English; the blocklist reads the words in English. Names are checked, not softened.
            try filter.check(hero.name, field: "name", language: "en")
            let cleaned = try filter.clean([
                ("appearance", hero.appearance), ("traits", hero.traits.joined(separator: "\n")),
                ("abilities", hero.abilities.joined(separator: "\n")), ("customPrompt", input.customPrompt),
            ], language: "en")
            let sketch = HeroSketch(name: hero.name, age: Int(hero.age), traits: StoryJobs.list(cleaned[1]), abilities: StoryJobs.list(cleaned[2]),
                                    appearance: cleaned[0])
            let prompt = cleaned[3].isEmpty ? sketch.avatarPrompt : "A friendly children's picture-book portrait of \(sketch.name): \(cleaned[3])"
            var fields: [String: String] = [
                "heroId": hero.id, "heroName": hero.name, "heroAge": String(hero.age), "traits": cleaned[1], "abilities": cleaned[2],
                "appearance": sketch.appearance, "prompt": prompt, "seed": String(Int64.random(in: 0...Int64(Int32.max))),
            ]
            fields.merge(Self.colours(of: LocalVisualProfiler.derive(sketch))) { $1 }
            job = try await submit(kind: "avatar", user: user, plan: Self.plan(principal), characterID: "", input: fields,
                                   operation: "avatar", units: 1, key: key)
        }
        job = try await waitBriefly(job, user: user, failing: "AVATAR_NOT_MADE", "the avatar could not be made")
        var reply = Atelier_Generation_V1_HeroAvatarResponse()
        reply.job = Self.storyJob(job, words: 0)
        guard job.status == "succeeded" else {
            return ServerResponse(message: reply, metadata: [HTTPStatusHint.metadataKey: "202"])
        }
        reply.hero = try await peers.hero(job.input["heroId"] ?? heroID, userToken: token)
        return ServerResponse(message: reply)
    }

    /// The colours a hero's profile names, as the local provider paints with them.
    static func colours(of profile: VisualProfile) -> [String: String] {
        var fields: [String: String] = [:]
        if profile.hasHairColor { fields["hairColor"] = profile.hairColor }
        if profile.hasEyeColor { fields["eyeColor"] = profile.eyeColor }
        if profile.hasSkinTone { fields["skinTone"] = profile.skinTone }
        if profile.hasClothingStyle { fields["characterClothing"] = profile.clothingStyle }
        return fields
    }

    /// The caller's content filter, at the level their profile chose (moderate unless they did).
    static func filter(_ principal: Principal) -> ContentFilter {
        ContentFilter(level: principal.contentFilterLevel)
    }

    /// The job as it is once finished, or when `generation.sync-wait-seconds` have passed; a job
    /// that failed is the route's error (503, the job's own error code, else `reason`).
    func waitBriefly(_ job: Job, user: String, failing reason: String, _ what: String) async throws -> Job {
        var job = job
        let deadline = ContinuousClock.now + settings.syncWait
        var pause = Duration.milliseconds(20)
        while !JobStore.isFinished(job.status), ContinuousClock.now < deadline {
            try await Task.sleep(for: pause)
            // Quick jobs are seen at once; slow ones are not read more than five times a second.
            pause = min(pause * 2, .milliseconds(200))
            job = try await JobStore.table.get(database, id: job.id, owner: user)
        }
        if job.status == "failed" {
            throw ServiceError(.unavailable, reason: job.errorCode.isEmpty ? reason : job.errorCode, "\(what): \(job.errorMessage)")
        }
        return job
    }
}
