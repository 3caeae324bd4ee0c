import AtelierTestSupport
import Foundation
import ServiceKit
import Testing

/// Usage with a provider that costs money: OpenAI's fake writes the story, the visual profile and
/// the scenes and speaks the narration; each call is metered at the cost table's price for the
/// model the reply names (gpt-4o-2024-08-06 is GPT-4o: $5 and $15 a million tokens; tts-1 $15 a
/// million characters).
@Suite("Usage priced from the cost table")
struct UsageCostTests {
    @Test("each operation's count, tokens and cost, summed for the month", arguments: TestBackend.available)
    func pricedUsage(backend: TestBackend) async throws {
        let fake = await FakeOpenAI.start()
        defer { Task { await fake.stop() } }
        try await TestStack.with(backend, edge: true, overrides: [
            "generation.openai.key": FakeOpenAI.key, "generation.openai.base-url": fake.baseURL,
        ]) { stack in
            let (token, _) = try await stack.signUp("metered@example.com")
            let made = try await stack.http("POST", "/api/heroes", json: ["name": "Ivo", "age": 9, "traits": ["curious"], "appearance": "short brown hair"],
                                            token: token)
            let heroID = try #require((made.json["hero"] as? [String: Any])?["id"] as? String, "\(made.text)")
            let avatar = try await stack.http("POST", "/api/heroes/\(heroID)/avatar", json: [:], token: token)
            #expect(avatar.status == 200, "\(avatar.text)")
            let profile = (avatar.json["hero"] as? [String: Any])?["visualProfile"] as? [String: Any]
            #expect(profile?["hairColor"] as? String == "the hairColor from the fake", "the provider's profile: \(avatar.text)")

            let story = try await stack.http("POST", "/api/stories", json: [
                "heroId": heroID, "eventType": "bedtime", "generateIllustrations": true, "illustrationCount": 2,
            ], token: token)
            let storyID = try #require((story.json["story"] as? [String: Any])?["id"] as? String, "\(story.text)")
            _ = try await HeroJourneyTests.poll("the narration and illustrations", {
                let audio = try await stack.http("GET", "/api/stories/\(storyID)/audio/status", token: token).json
                let drawn = try await stack.http("GET", "/api/stories/\(storyID)/illustrations/status", token: token).json
                return ["audio": audio["audioGenerated"] as? Bool ?? false, "drawn": drawn["status"] as? String ?? ""]
            }) { $0["audio"] as? Bool == true && $0["drawn"] as? String == "completed" }

            let usage = try await stack.http("GET", "/api/user/usage", token: token)
            let breakdown = Dictionary(uniqueKeysWithValues: (usage.json["breakdown"] as? [[String: Any]] ?? []).compactMap { entry in
                (entry["operation"] as? String).map { ($0, entry) }
            })
            // 420 prompt and 780 completion tokens a chat call: 420 × $5/M + 780 × $15/M.
            for operation in ["visual_profile", "story_generation", "scene_extraction"] {
                let entry = breakdown[operation]
                #expect(entry?["count"] as? Int == 1 && entry?["tokensUsed"] as? Int == 1200, "\(operation): \(usage.text)")
                #expect(entry?["cost"] as? Double == 0.0138, "\(operation): \(usage.text)")
            }
            // "the content from the fake": 25 characters at $15 a million, $0.000375, shown to the hundredth of a cent.
            let speech = breakdown["audio_synthesis"]
            #expect(speech?["count"] as? Int == 1 && speech?["cost"] as? Double == 0.0004, "\(usage.text)")
            #expect(breakdown["image_generation"]?["count"] as? Int == 3 && breakdown["image_generation"]?["cost"] as? Double == 0, "\(usage.text)")
            let summary = usage.json["summary"] as? [String: Any]
            #expect(summary?["totalCost"] as? Double == 0.0418 && summary?["totalTokensUsed"] as? Int == 3600, "\(usage.text)")
            #expect(summary?["audioGenerated"] as? Int == 1 && summary?["imagesGenerated"] as? Int == 3, "\(usage.text)")
            let lastMonth = try await stack.http("GET", "/api/user/usage?period=last_month", token: token)
            #expect((lastMonth.json["breakdown"] as? [Any] ?? []).isEmpty && lastMonth.status == 200, "\(lastMonth.text)")
            let allTime = try await stack.http("GET", "/api/user/usage?period=all_time", token: token)
            #expect((allTime.json["summary"] as? [String: Any])?["totalCost"] as? Double == 0.0418, "\(allTime.text)")
        }
    }
}
