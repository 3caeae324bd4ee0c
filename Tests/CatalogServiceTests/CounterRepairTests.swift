@testable import CatalogService
import AtelierTestSupport
import Foundation
import Logging
import ServiceKit
import Testing

@Suite("Counter repair")
struct CounterRepairTests {
    @Test("a recount mends explore's counts and owners' character counts changed by hand", arguments: TestBackend.available)
    func mends(backend: TestBackend) async throws {
        try await TestStack.with(backend, edge: true) { stack in
            let (ivy, ivyID) = try await stack.signUp("ivy@example.com")
            let (ben, benID) = try await stack.signUp("ben@example.com")
            _ = try await CatalogFixture.character(stack, token: ivy, ["name": "Ivy", "isPublic": true, "styleType": "anime"])
            let database = stack.database(.catalog)
            let repair = CounterRepair(database: database, logger: Logger(label: "test"))
            #expect(try await repair.repair() == 0, "every write kept the counters in step")

            // Hand edits: explore's counts run ahead and gain a style nobody uses, Ben is charged
            // a character he does not have, and Ivy's count is lost.
            try await database.query("UPDATE public_counts SET count = count + 5")
            try await database.query("INSERT INTO public_counts (style_type, count) VALUES ('cartoon', 2)")
            try await database.query("INSERT INTO owners (user_id, characters) VALUES (\(benID), 1)")
            try await database.query("DELETE FROM owners WHERE user_id = \(ivyID)")
            #expect(try await stack.http("GET", "/api/explore").total == 6)
            let refused = try await stack.http("POST", "/api/characters", json: ["name": "Ben"], token: ben)
            #expect(refused.status == 403 && refused.errorCode == "CHARACTER_LIMIT_REACHED", "\(refused.text)")

            // All styles (''), anime, cartoon, Ben and Ivy.
            #expect(try await repair.repair() == 5)
            #expect(try await repair.repair() == 0, "a second pass finds nothing")
            #expect(try await stack.http("GET", "/api/explore").total == 1)
            #expect(try await stack.http("GET", "/api/explore?styleType=anime").total == 1)
            #expect(try await stack.http("GET", "/api/explore?styleType=cartoon").total == 0)
            _ = try await CatalogFixture.character(stack, token: ben, ["name": "Ben"])
            let second = try await stack.http("POST", "/api/characters", json: ["name": "Ivy again"], token: ivy)
            #expect(second.status == 403 && second.errorCode == "CHARACTER_LIMIT_REACHED", "Ivy's one character counts again")
        }
    }

    @Test("a recount mends the counts objects keep: images and videos, variants, stories, illustrations, collection members",
          arguments: TestBackend.available)
    func mendsObjectCounts(backend: TestBackend) async throws {
        try await TestStack.with(backend, edge: true) { stack in
            let (token, userID) = try await stack.signUp("keeper@example.com")
            let character = try #require(try await CatalogFixture.character(stack, token: token, ["name": "Aria"])["id"] as? String)
            _ = try await CatalogFixture.attachMedia(stack, user: userID, character: character)
            let theme = try #require(((try await stack.http("POST", "/api/characters/\(character)/themes", json: ["name": "Winter"], token: token))
                .json["theme"] as? [String: Any])?["id"] as? String)
            _ = try await CatalogFixture.addVariant(stack, user: userID, theme: theme, prompt: "smile")
            let hero = try #require(try await CatalogFixture.hero(stack, token: token, name: "Alice")["id"] as? String)
            let story = try await CatalogFixture.createStory(stack, user: userID, hero: hero, title: "Moon")
            _ = try await CatalogFixture.addIllustration(stack, user: userID, story: story.id, at: 5)
            let collection = try #require(((try await stack.http("POST", "/api/collections", json: ["name": "Mine"], token: token))
                .json["collection"] as? [String: Any])?["id"] as? String)
            _ = try await stack.http("POST", "/api/collections/\(collection)/characters", json: ["characterId": character], token: token)
            let database = stack.database(.catalog)
            let repair = CounterRepair(database: database, logger: Logger(label: "test"))
            #expect(try await repair.repair() == 0)

            let counters: [(SQLIdentifier, SQLIdentifier)] = [("characters", "image_count"), ("characters", "video_count"), ("themes", "variant_count"),
                                     ("heroes", "story_count"), ("stories", "illustration_count"), ("collections", "character_count")]
            for (table, counter) in counters {
                try await database.query("UPDATE \(table) SET \(counter) = 9")
            }
            #expect(try await repair.repair() == 6)
            #expect(try await repair.repair() == 0)

            func object(_ path: String, _ key: String) async throws -> [String: Any] {
                try #require(try await stack.http("GET", path, token: token).json[key] as? [String: Any])
            }
            let aria = try await object("/api/characters/\(character)", "character")
            #expect(aria["imageCount"] as? Int == 1 && aria["videoCount"] as? Int == 0)
            #expect(try await object("/api/themes/\(theme)", "theme")["variantCount"] as? Int == 1)
            #expect(try await object("/api/heroes/\(hero)", "hero")["storyCount"] as? Int == 1)
            #expect(try await object("/api/stories/\(story.id)", "story")["illustrationCount"] as? Int == 1)
            #expect(try await object("/api/collections/\(collection)", "collection")["characterCount"] as? Int == 1)
        }
    }
}
