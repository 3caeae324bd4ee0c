import AtelierTestSupport
import Foundation
import ServiceKit
import Testing

/// The PRD's stories, offline with the local provider, over HTTP: a story written in Spanish
/// and narrated (espeak-ng when installed, a synthesized voice otherwise), listened to, edited
/// and narrated again; bad input named; another user's hero not found; a story that takes longer
/// than the wait answered 202 with its job; a custom event's count rising.
@Suite("Stories and their narration")
struct StoryTests {
    static var hero: [String: Any] { ["name": "Lucía", "age": 7, "traits": ["brave", "curious"], "appearance": "curly black hair",
                                      "abilities": ["talking to animals"]] }

    static func audio(_ stack: TestStack, _ story: String, token: String, until done: ([String: Any]) -> Bool) async throws -> [String: Any] {
        let deadline = ContinuousClock.now + .seconds(60)
        while ContinuousClock.now < deadline {
            let status = try await stack.http("GET", "/api/stories/\(story)/audio/status", token: token)
            if done(status.json) { return status.json }
            try await Task.sleep(for: .milliseconds(100))
        }
        Issue.record("the narration of \(story) did not finish")
        return [:]
    }

    @Test("a story in Spanish, narrated; listened to; edited and narrated again in another voice", arguments: TestBackend.available)
    func storyAndNarration(backend: TestBackend) async throws {
        try await TestStack.with(backend, edge: true) { stack in
            let (token, _) = try await stack.signUp("teller@example.com")
            let hero = try await stack.http("POST", "/api/heroes", json: Self.hero, token: token)
            let heroID = try #require((hero.json["hero"] as? [String: Any])?["id"] as? String, "\(hero.text)")

            let created = try await stack.http("POST", "/api/stories", json: ["heroId": heroID, "eventType": "bedtime", "language": "es"], token: token)
            #expect(created.status == 201, "\(created.text)")
            let story = try #require(created.json["story"] as? [String: Any], "\(created.text)")
            let storyID = try #require(story["id"] as? String)
            let content = story["content"] as? String ?? ""
            #expect(story["language"] as? String == "es")
            #expect(content.contains("Lucía") && content.contains("la hora de dormir"))
            #expect(content.contains("talking to animals") && content.contains("brave"), "the hero's own words: \(content)")
            let audioJob = (created.json["jobs"] as? [String: Any])?["audioGeneration"] as? [String: Any]
            #expect(audioJob?["queued"] as? Bool == true && audioJob?["jobId"] is String, "\(created.text)")

            let narrated = try await Self.audio(stack, storyID, token: token) { $0["audioGenerated"] as? Bool == true }
            let duration = try #require(narrated["audioDuration"] as? Double)
            #expect(duration > 2, "a story read aloud takes time: \(duration) s")
            let link = try #require(narrated["audioUrl"] as? String)
            let file = try await stack.http("GET", try #require(URL(string: link)).path)
            #expect(file.status == 200 && file.body.prefix(4) == Data("RIFF".utf8))

            let listened = try await stack.http("POST", "/api/stories/\(storyID)/listen", json: [:], token: token)
            #expect(listened.json["listenCount"] as? Int == 1, "\(listened.text)")

            // An edit makes the narration out of date; narrating again in another voice brings it back.
            let edited = try await stack.http("PATCH", "/api/stories/\(storyID)", json: ["content": content + "\n\nY colorín colorado."], token: token)
            #expect((edited.json["story"] as? [String: Any])?["audioGenerated"] as? Bool == false, "\(edited.text)")
            let again = try await stack.http("POST", "/api/stories/\(storyID)/audio", json: ["voice": "echo"], token: token)
            #expect(again.status == 202 && (again.json["job"] as? [String: Any])?["id"] is String, "\(again.text)")
            _ = try await Self.audio(stack, storyID, token: token) { $0["audioGenerated"] as? Bool == true }
            let read = try await stack.http("GET", "/api/stories/\(storyID)", token: token)
            #expect((read.json["story"] as? [String: Any])?["voiceType"] as? String == "echo", "\(read.text)")

            // Bad input names its field; another user's hero is not there for them.
            let portuguese = try await stack.http("POST", "/api/stories", json: ["heroId": heroID, "eventType": "bedtime", "language": "pt"], token: token)
            #expect(portuguese.status == 400 && portuguese.errorField == "language", "\(portuguese.text)")
            let robot = try await stack.http("POST", "/api/stories/\(storyID)/audio", json: ["voice": "robot"], token: token)
            #expect(robot.status == 400 && robot.errorField == "voice", "\(robot.text)")
            let (other, _) = try await stack.signUp("someone@example.com")
            let foreign = try await stack.http("POST", "/api/stories", json: ["heroId": heroID, "eventType": "bedtime"], token: other)
            #expect(foreign.status == 404, "\(foreign.text)")
            #expect(try await stack.http("GET", "/api/stories/\(storyID)/audio/status", token: other).status == 404)
        }
    }

    @Test("a story not ready within the wait is 202 with its job; a custom event is counted; no narration when not asked",
          arguments: TestBackend.available)
    func laterAndCustom(backend: TestBackend) async throws {
        try await TestStack.with(backend, edge: true, overrides: ["generation.sync-wait-seconds": "0"]) { stack in
            let (token, _) = try await stack.signUp("custom@example.com")
            let hero = try await stack.http("POST", "/api/heroes", json: Self.hero, token: token)
            let heroID = try #require((hero.json["hero"] as? [String: Any])?["id"] as? String, "\(hero.text)")
            let event = try await stack.http("POST", "/api/custom-events", json: [
                "title": "The lost kite", "description": "A kite caught in a tree", "promptSeed": "The kite belonged to grandma.",
                "category": "adventure",
            ], token: token)
            let eventID = try #require((event.json["event"] as? [String: Any])?["id"] as? String, "\(event.text)")
            let created = try await stack.http("POST", "/api/stories", json: ["heroId": heroID, "customEventId": eventID, "generateAudio": false],
                                               token: token)
            #expect(created.status == 202 && created.json["story"] is NSNull, "\(created.text)")
            let jobID = try #require((created.json["job"] as? [String: Any])?["id"] as? String)
            #expect((created.json["jobs"] as? [String: Any]).flatMap { ($0["audioGeneration"] as? [String: Any])?["queued"] as? Bool } == false)
            let done = try await ImageVideoFlowTests.finished(stack, jobID, token: token)
            #expect(done["status"] as? String == "succeeded", "\(done)")
            let storyID = try #require(done["storyId"] as? String)
            let story = try await stack.http("GET", "/api/stories/\(storyID)", token: token).json["story"] as? [String: Any]
            #expect((story?["content"] as? String)?.contains("The kite belonged to grandma.") == true)
            #expect((story?["title"] as? String)?.contains("The lost kite") == true, "\(story ?? [:])")
            let counted = try await stack.http("GET", "/api/custom-events/\(eventID)", token: token)
            #expect((counted.json["event"] as? [String: Any])?["usageCount"] as? Int == 1, "\(counted.text)")
            #expect(try await stack.http("GET", "/api/jobs?kind=narration", token: token).total == 0)
        }
    }

    @Test("a narration asked for with priority high goes ahead of the plan's other jobs", arguments: TestBackend.available)
    func highPriority(backend: TestBackend) async throws {
        try await TestStack.with(backend, edge: true, overrides: ["generation.workers": "1", "generation.local.delay-ms": "1000"]) { stack in
            let (token, _) = try await stack.signUp("hurry@example.com")
            let hero = try await stack.http("POST", "/api/heroes", json: Self.hero, token: token)
            let heroID = try #require((hero.json["hero"] as? [String: Any])?["id"] as? String, "\(hero.text)")
            let story = try await stack.http("POST", "/api/stories", json: ["heroId": heroID, "eventType": "bedtime", "generateAudio": false], token: token)
            let storyID = try #require((story.json["story"] as? [String: Any])?["id"] as? String, "\(story.text)")
            // The one worker is busy with a picture while the two narrations are queued: a second a
            // step, so a loaded machine still queues both before the worker is free.
            let character = try await stack.http("POST", "/api/characters", json: ["name": "Bo"], token: token)
            let characterID = try #require((character.json["character"] as? [String: Any])?["id"] as? String)
            _ = try await stack.http("POST", "/api/generate/image", json: ["characterId": characterID], token: token)
            let normal = try await stack.http("POST", "/api/stories/\(storyID)/audio", json: ["voice": "echo"], token: token)
            let high = try await stack.http("POST", "/api/stories/\(storyID)/audio", json: ["voice": "onyx", "priority": "high"], token: token)
            let ids = try [normal, high].map { try #require(($0.json["job"] as? [String: Any])?["id"] as? String, "\($0.text)") }
            let started = try await HeroJourneyTests.poll("both narrations", {
                var found: [String: Any] = [:]
                for id in ids {
                    if let row = try await stack.database(.generation).first("SELECT started_at FROM jobs WHERE id = \(id) AND status = 'succeeded'") {
                        found[id] = try row.int("started_at")
                    }
                }
                return found
            }) { $0.count == 2 }
            let (normalStart, highStart) = (started[ids[0]] as? Int64 ?? 0, started[ids[1]] as? Int64 ?? 0)
            #expect(highStart < normalStart, "the high one, queued after, started first: \(highStart) vs \(normalStart)")
        }
    }
}
