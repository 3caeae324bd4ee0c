import AtelierTestSupport
import Foundation
import ServiceKit
import Testing

/// The PRD's journey, as a new user would take it offline with the local provider, over HTTP:
/// a hero with an avatar and a visual profile, a story in Spanish narrated and illustrated three
/// times (chained from the avatar), listened to, edited and narrated again; the usage report with
/// each operation; the 80% and 100% alerts in the outbox; then the catalog's story routes with
/// real stories: favourites, another user's story, deleting the hero keeps its stories.
@Suite("A hero's journey: avatar, story, narration, illustrations, usage")
struct HeroJourneyTests {
    static func poll(_ what: String, _ read: () async throws -> [String: Any], until done: ([String: Any]) -> Bool) async throws -> [String: Any] {
        let deadline = ContinuousClock.now + .seconds(90)
        var last: [String: Any] = [:]
        while ContinuousClock.now < deadline {
            last = try await read()
            if done(last) { return last }
            try await Task.sleep(for: .milliseconds(100))
        }
        Issue.record("\(what) did not happen: \(last)")
        return last
    }

    @Test("the whole journey, in Spanish", arguments: TestBackend.available)
    func journey(backend: TestBackend) async throws {
        try await TestStack.with(backend, edge: true) { stack in
            let (token, userID) = try await stack.signUp("journey@example.com")
            let created = try await stack.http("POST", "/api/heroes", json: [
                "name": "Lucía", "age": 7, "traits": ["brave", "curious"], "appearance": "curly blonde hair, blue eyes, wearing a red cape",
                "abilities": ["talking to animals"],
            ], token: token)
            let heroID = try #require((created.json["hero"] as? [String: Any])?["id"] as? String, "\(created.text)")

            // The avatar: a picture, the prompt it was drawn from, a profile, a generation id to chain from.
            let avatar = try await stack.http("POST", "/api/heroes/\(heroID)/avatar", json: [:], token: token)
            #expect(avatar.status == 200, "\(avatar.text)")
            let hero = try #require(avatar.json["hero"] as? [String: Any], "\(avatar.text)")
            let avatarURL = try #require(hero["avatarUrl"] as? String)
            let picture = try await stack.http("GET", try #require(URL(string: avatarURL)).path)
            #expect(picture.status == 200 && picture.body.prefix(4) == Data([0x89, 0x50, 0x4E, 0x47]))
            let generationID = try #require(hero["avatarGenerationId"] as? String)
            #expect((hero["avatarPrompt"] as? String)?.contains("Lucía") == true)
            let profile = try #require(hero["visualProfile"] as? [String: Any], "\(avatar.text)")
            #expect(profile["hairColor"] as? String == "blonde" && profile["hairStyle"] as? String == "curly", "\(profile)")
            #expect(profile["eyeColor"] as? String == "blue" && (profile["accessories"] as? [String])?.contains("cape") == true, "\(profile)")

            // A story in Spanish, narrated, with three illustrations.
            let story = try await stack.http("POST", "/api/stories", json: [
                "heroId": heroID, "eventType": "bedtime", "language": "es", "generateIllustrations": true, "illustrationCount": 3,
            ], token: token)
            #expect(story.status == 201, "\(story.text)")
            let storyID = try #require((story.json["story"] as? [String: Any])?["id"] as? String, "\(story.text)")
            let jobs = story.json["jobs"] as? [String: Any]
            #expect((jobs?["audioGeneration"] as? [String: Any])?["queued"] as? Bool == true, "\(story.text)")
            #expect((jobs?["illustrationGeneration"] as? [String: Any])?["queued"] as? Bool == true, "\(story.text)")

            let drawn = try await Self.poll("three illustrations", {
                try await stack.http("GET", "/api/stories/\(storyID)/illustrations/status", token: token).json
            }) { $0["status"] as? String == "completed" }
            let progress = drawn["progress"] as? [String: Any]
            #expect(progress?["completed"] as? Int == 3 && progress?["total"] as? Int == 3 && progress?["percentage"] as? Int == 100, "\(drawn)")
            let listed = try await stack.http("GET", "/api/stories/\(storyID)/illustrations", token: token)
            let illustrations = try #require(listed.json["illustrations"] as? [[String: Any]], "\(listed.text)")
            #expect(illustrations.count == 3)
            let times = illustrations.compactMap { $0["timestamp"] as? Double }
            #expect(times.count == 3 && times[0] == 0 && times == times.sorted() && Set(times).count == 3, "timed by word count: \(times)")
            // Each drawn after the one before, the first after the avatar.
            let prompts = illustrations.compactMap { $0["prompt"] as? String }
            #expect(prompts.first?.contains(generationID) == true, "\(prompts)")
            let first = try #require(illustrations.first?["generationId"] as? String)
            #expect(prompts.count == 3 && prompts[1].contains(first), "\(prompts)")

            // Listened to, then edited and narrated again.
            let narrated = try await Self.poll("the narration", {
                try await stack.http("GET", "/api/stories/\(storyID)/audio/status", token: token).json
            }) { $0["audioGenerated"] as? Bool == true }
            #expect((narrated["audioDuration"] as? Double ?? 0) > 1)
            let listen = try await stack.http("POST", "/api/stories/\(storyID)/listen", json: [:], token: token)
            #expect(listen.json["listenCount"] as? Int == 1, "\(listen.text)")
            let content = try #require((story.json["story"] as? [String: Any])?["content"] as? String)
            let edited = try await stack.http("PATCH", "/api/stories/\(storyID)", json: [
                "content": content + "\n\nY colorín colorado, este cuento se ha acabado.", "regenerateAudio": true, "isFavorite": true,
            ], token: token)
            #expect(edited.status == 200, "\(edited.text)")
            #expect((edited.json["story"] as? [String: Any])?["audioGenerated"] as? Bool == false, "\(edited.text)")
            let regeneration = (edited.json["jobs"] as? [String: Any])?["audioRegeneration"] as? [String: Any]
            #expect(regeneration?["queued"] as? Bool == true, "\(edited.text)")
            _ = try await Self.poll("the new narration", {
                try await stack.http("GET", "/api/stories/\(storyID)/audio/status", token: token).json
            }) { $0["audioGenerated"] as? Bool == true }

            // Usage: each operation with its count and cost (the local provider's cost nothing).
            let usage = try await stack.http("GET", "/api/user/usage?period=current_month", token: token)
            #expect(usage.status == 200, "\(usage.text)")
            let breakdown = Dictionary(uniqueKeysWithValues: (usage.json["breakdown"] as? [[String: Any]] ?? []).compactMap { entry in
                (entry["operation"] as? String).map { ($0, entry) }
            })
            #expect(breakdown["story_generation"]?["count"] as? Int == 1, "\(usage.text)")
            #expect(breakdown["audio_synthesis"]?["count"] as? Int == 2, "\(usage.text)")
            #expect(breakdown["image_generation"]?["count"] as? Int == 4, "an avatar and three illustrations: \(usage.text)")
            #expect(breakdown.values.allSatisfy { $0["cost"] as? Double == 0 }, "\(usage.text)")
            let summary = usage.json["summary"] as? [String: Any]
            #expect(summary?["storiesGenerated"] as? Int == 1 && summary?["imagesGenerated"] as? Int == 4, "\(usage.text)")
            let limits = usage.json["limits"] as? [String: Any]
            #expect(limits?["storiesUsed"] as? Int == 1 && limits?["storiesLimit"] as? Int == 10 && limits?["percentage"] as? Int == 10, "\(usage.text)")
            let badPeriod = try await stack.http("GET", "/api/user/usage?period=yesterday", token: token)
            #expect(badPeriod.status == 400 && badPeriod.errorField == "period", "\(badPeriod.text)")

            // The month's only avatar was used: that alert went out at once; eight stories of ten
            // bring the 80% one.
            for _ in 0..<7 {
                let more = try await stack.http("POST", "/api/stories", json: ["heroId": heroID, "eventType": "adventure", "generateAudio": false],
                                                token: token)
                #expect(more.status == 201, "\(more.text)")
            }
            let alerts = try await Self.poll("the usage alerts", {
                let rows = try await stack.database(.auth).query("SELECT subject FROM mail_outbox WHERE kind = 'usage_alert' ORDER BY created_at")
                return ["subjects": try rows.map { try $0.string("subject") }]
            }) { ($0["subjects"] as? [String])?.count == 2 }
            let subjects = alerts["subjects"] as? [String] ?? []
            #expect(subjects.contains("You have used all your hero avatars this month"), "\(subjects)")
            #expect(subjects.contains("You have used 80% of your stories this month"), "\(subjects)")
            let recipient = try await stack.database(.auth).first("SELECT recipient FROM mail_outbox WHERE kind = 'usage_alert'")
            #expect(try recipient?.string("recipient") == "journey@example.com")

            // The catalog's routes have stories to serve.
            let favourites = try await stack.http("GET", "/api/stories?isFavorite=true", token: token)
            #expect((favourites.json["stories"] as? [[String: Any]])?.map { $0["id"] as? String } == [storyID], "\(favourites.text)")
            let (other, _) = try await stack.signUp("neighbour@example.com")
            #expect(try await stack.http("GET", "/api/stories/\(storyID)", token: other).status == 404)
            #expect(try await stack.http("POST", "/api/stories/\(storyID)/illustrations", json: [:], token: other).status == 404)
            #expect(try await stack.http("PATCH", "/api/stories/\(storyID)", json: ["title": "Mine"], token: other).status == 404)
            let deleted = try await stack.http("DELETE", "/api/heroes/\(heroID)", token: token)
            #expect(deleted.json["storiesAffected"] as? Int == 8, "\(deleted.text)")
            let kept = try await stack.http("GET", "/api/stories/\(storyID)", token: token)
            let keptStory = kept.json["story"] as? [String: Any]
            #expect(kept.status == 200 && keptStory?["heroId"] is NSNull, "\(kept.text)")
            _ = userID
        }
    }
}
