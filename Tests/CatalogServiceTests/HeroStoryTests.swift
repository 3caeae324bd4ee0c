import AtelierProtos
import AtelierTestSupport
import Foundation
import GRPCCore
import ServiceKit
import Testing

@Suite("Heroes, stories, illustrations and custom events through the edge")
struct HeroStoryTests {
    @Test("heroes: PRD 6.2 validation, sorting, pages, includeStories, visual profile, delete keeps stories", arguments: TestBackend.available)
    func heroes(backend: TestBackend) async throws {
        try await TestStack.with(backend, edge: true) { stack in
            let (token, userID) = try await stack.signUp("parent@example.com")
            let bad: [([String: Any], String)] = [
                (["age": 7, "traits": ["brave"], "appearance": "x"], "name"),
                (["name": "Bob", "age": 0, "traits": ["brave"], "appearance": "x"], "age"),
                (["name": "Bob", "age": 19, "traits": ["brave"], "appearance": "x"], "age"),
                (["name": "Bob", "age": 6, "traits": [], "appearance": "x"], "traits"),
                (["name": "Bob", "age": 6, "traits": ["brave", "kind", "curious", "funny", "shy", "wise"], "appearance": "x"], "traits"),
                (["name": "Bob", "age": 6, "traits": ["evil"], "appearance": "x"], "traits"),
                (["name": "Bob", "age": 6, "traits": ["brave"], "appearance": String(repeating: "a", count: 501)], "appearance"),
                (["name": "Bob", "age": 6, "traits": ["brave"], "appearance": "x", "abilities": ["a", "b", "c", "d"]], "abilities"),
                (["name": String(repeating: "n", count: 101), "age": 6, "traits": ["brave"], "appearance": "x"], "name"),
            ]
            for (body, field) in bad {
                let reply = try await stack.http("POST", "/api/heroes", json: body, token: token)
                #expect(reply.status == 400 && reply.errorField == field, "\(body): \(reply.text)")
            }
            let alice = try await CatalogFixture.hero(stack, token: token, name: "Alice")
            let aliceID = try #require(alice["id"] as? String)
            #expect(alice["avatarUrl"] is NSNull && alice["traits"] as? [String] == ["brave", "kind"] && alice["storyCount"] as? Int == 0)
            try await Task.sleep(for: .milliseconds(5))
            _ = try await CatalogFixture.hero(stack, token: token, name: "Bob", age: 6, traits: ["Curious"])

            func names(_ query: String) async throws -> [String] {
                let reply = try await stack.http("GET", "/api/heroes\(query)", token: token)
                #expect(reply.status == 200, "\(reply.text)")
                return reply.list("heroes").compactMap { $0["name"] as? String }
            }
            #expect(try await names("") == ["Bob", "Alice"])
            #expect(try await names("?sortBy=name&sortOrder=asc") == ["Alice", "Bob"])
            #expect(try await names("?limit=1&offset=1") == ["Alice"])
            #expect(try await stack.http("GET", "/api/heroes?limit=1", token: token).json["pagination"] as? [String: Int] == ["total": 2, "limit": 1, "offset": 0])
            // A page exactly full, the last page, and one past the end all say the same total.
            for query in ["limit=2", "limit=1&offset=1", "limit=3", "limit=1&offset=2"] {
                let pagination = try await stack.http("GET", "/api/heroes?\(query)", token: token).json["pagination"] as? [String: Int]
                #expect(pagination?["total"] == 2, "\(query)")
            }
            #expect(try await stack.http("GET", "/api/heroes?limit=2", token: token).list("heroes").count == 2)
            #expect(try await stack.http("GET", "/api/heroes?sortBy=age", token: token).errorField == "sortBy")

            // Stories come from generation; the hero counts them and can include the latest.
            for index in 0..<3 {
                _ = try await CatalogFixture.createStory(stack, user: userID, hero: aliceID, title: "Night \(index)")
                try await Task.sleep(for: .milliseconds(5))
            }
            let detail = try await stack.http("GET", "/api/heroes/\(aliceID)?includeStories=true&storyLimit=2", token: token)
            let hero = try #require(detail.json["hero"] as? [String: Any])
            #expect(hero["storyCount"] as? Int == 3)
            #expect((hero["stories"] as? [[String: Any]])?.compactMap { $0["title"] as? String } == ["Night 2", "Night 1"])
            #expect(hero["visualProfile"] is NSNull)
            let plain = try await stack.http("GET", "/api/heroes/\(aliceID)", token: token).json["hero"] as? [String: Any]
            #expect((plain?["stories"] as? [Any])?.isEmpty == true)

            // PATCH: what is given changes.
            let patched = try await stack.http("PATCH", "/api/heroes/\(aliceID)", json: ["age": 8, "traits": ["brave", "kind", "clever"]], token: token)
            let p = try #require(patched.json["hero"] as? [String: Any])
            #expect(p["age"] as? Int == 8 && p["name"] as? String == "Alice" && (p["traits"] as? [String])?.count == 3)
            #expect(try await stack.http("PATCH", "/api/heroes/\(aliceID)", json: ["age": 40], token: token).errorField == "age")

            // Avatar and visual profile arrive from generation.
            try await CatalogFixture.asService(stack) { client, metadata in
                _ = try await client.setHeroAvatar(.with {
                    $0.userID = userID
                    $0.heroID = aliceID
                    $0.avatarURL = "https://files.example.com/avatars/alice.png"
                    $0.avatarPrompt = "A 7-year-old brave girl"
                    $0.avatarGenerationID = "gen_1"
                    $0.visualProfile = .with { $0.hairColor = "blonde"; $0.artStyle = "watercolor"; $0.colorPalette = ["gold"] }
                }, metadata: metadata)
            }
            let withAvatar = try await stack.http("GET", "/api/heroes/\(aliceID)", token: token).json["hero"] as? [String: Any]
            #expect(withAvatar?["avatarGenerationId"] as? String == "gen_1")
            #expect((withAvatar?["visualProfile"] as? [String: Any])?["hairColor"] as? String == "blonde")

            // Deleting the hero keeps its stories, unlinked.
            let deleted = try await stack.http("DELETE", "/api/heroes/\(aliceID)", token: token)
            #expect(deleted.status == 200)
            #expect(deleted.json["success"] as? Bool == true && deleted.json["storiesAffected"] as? Int == 3)
            let stories = try await stack.http("GET", "/api/stories", token: token)
            #expect(stories.total == 3)
            #expect(stories.list("stories").allSatisfy { $0["heroId"] is NSNull })
            #expect(try await stack.http("GET", "/api/heroes/\(aliceID)", token: token).status == 404)
        }
    }

    @Test("stories: filters, sorts, read with hero and illustrations, PATCH, listen, delete", arguments: TestBackend.available)
    func stories(backend: TestBackend) async throws {
        try await TestStack.with(backend, edge: true) { stack in
            let (token, userID) = try await stack.signUp("reader@example.com")
            let hero = try #require(try await CatalogFixture.hero(stack, token: token, name: "Alice")["id"] as? String)
            let other = try #require(try await CatalogFixture.hero(stack, token: token, name: "Bob")["id"] as? String)
            let bedtime = try await CatalogFixture.createStory(stack, user: userID, hero: hero, title: "Moon", eventType: "bedtime")
            try await Task.sleep(for: .milliseconds(5))
            let school = try await CatalogFixture.createStory(stack, user: userID, hero: other, title: "School", eventType: "school", language: "es")
            // The same job saving twice makes one story.
            let once = try await CatalogFixture.createStory(stack, user: userID, hero: hero, title: "Once", key: "job_1")
            let twice = try await CatalogFixture.createStory(stack, user: userID, hero: hero, title: "Once", key: "job_1")
            #expect(once.id == twice.id)

            func titles(_ query: String) async throws -> [String] {
                let reply = try await stack.http("GET", "/api/stories\(query)", token: token)
                #expect(reply.status == 200, "\(query): \(reply.text)")
                return reply.list("stories").compactMap { $0["title"] as? String }
            }
            #expect(try await titles("") == ["Once", "School", "Moon"])
            #expect(try await titles("?heroId=\(other)") == ["School"])
            #expect(try await titles("?eventType=school") == ["School"])
            #expect(try await titles("?language=es") == ["School"])
            #expect(try await stack.http("GET", "/api/stories?language=xx", token: token).errorField == "language")
            #expect(try await stack.http("GET", "/api/stories?sortBy=title", token: token).errorField == "sortBy")

            // Listens count and sort.
            for _ in 0..<2 {
                let listen = try await stack.http("POST", "/api/stories/\(school.id)/listen", token: token)
                #expect(listen.status == 200 && listen.json["lastListenedAt"] is String)
            }
            #expect(try await stack.http("POST", "/api/stories/\(school.id)/listen", json: [String: Any](), token: token).json["listenCount"] as? Int == 3)
            #expect(try await titles("?sortBy=listenCount").first == "School")

            let favourite = try await stack.http("PATCH", "/api/stories/\(bedtime.id)", json: ["isFavorite": true, "title": "Moonlight"], token: token)
            #expect(favourite.status == 200, "\(favourite.text)")
            #expect(try await titles("?isFavorite=true") == ["Moonlight"])
            let listed = try await stack.http("GET", "/api/stories?isFavorite=true", token: token).list("stories").first
            #expect(listed?["heroName"] as? String == "Alice" && listed?["illustrationCount"] as? Int == 0)
            #expect(try await stack.http("PATCH", "/api/stories/\(bedtime.id)", json: ["title": ""], token: token).errorField == "title")

            // Illustrations: display order, and deleting one closes the gap.
            var illustrations: [Atelier_Catalog_V1_Illustration] = []
            for second in [30.0, 90.0, 150.0] {
                illustrations.append(try await CatalogFixture.addIllustration(stack, user: userID, story: bedtime.id, at: second))
            }
            #expect(illustrations.map(\.displayOrder) == [0, 1, 2])
            let read = try await stack.http("GET", "/api/stories/\(bedtime.id)", token: token)
            let story = try #require(read.json["story"] as? [String: Any])
            #expect((story["hero"] as? [String: Any])?["name"] as? String == "Alice")
            #expect((story["illustrations"] as? [[String: Any]])?.count == 3)
            #expect(story["illustrationCount"] as? Int == 3)
            let without = try await stack.http("GET", "/api/stories/\(bedtime.id)?includeIllustrations=false", token: token)
            #expect(((without.json["story"] as? [String: Any])?["illustrations"] as? [Any])?.isEmpty == true)

            let removed = try await stack.http("DELETE", "/api/stories/\(bedtime.id)/illustrations/\(illustrations[0].id)", token: token)
            #expect(removed.json["success"] as? Bool == true)
            let remaining = try await stack.http("GET", "/api/stories/\(bedtime.id)/illustrations", token: token)
            #expect(remaining.list("illustrations").compactMap { $0["displayOrder"] as? Int } == [0, 1])
            #expect(remaining.list("illustrations").compactMap { $0["timestamp"] as? Double } == [90, 150])
            #expect(remaining.json["totalDuration"] is NSNull)
            // A new one goes after the last.
            let next = try await CatalogFixture.addIllustration(stack, user: userID, story: bedtime.id, at: 170)
            #expect(next.displayOrder == 2)

            // Changing the text marks the narration out of date.
            let edited = try await stack.http("PATCH", "/api/stories/\(bedtime.id)", json: ["content": "A new telling."], token: token)
            #expect((edited.json["story"] as? [String: Any])?["audioGenerated"] as? Bool == false)

            #expect(try await stack.http("DELETE", "/api/stories/\(bedtime.id)", token: token).json["success"] as? Bool == true)
            #expect(try await stack.http("GET", "/api/stories/\(bedtime.id)", token: token).status == 404)
            #expect(try await stack.http("GET", "/api/stories/\(bedtime.id)/illustrations", token: token).status == 404)
            let alice = try await stack.http("GET", "/api/heroes/\(hero)", token: token).json["hero"] as? [String: Any]
            #expect(alice?["storyCount"] as? Int == 1)
        }
    }

    @Test("custom story events: CRUD, category and tone lists, favourites, usage count", arguments: TestBackend.available)
    func customEvents(backend: TestBackend) async throws {
        try await TestStack.with(backend, edge: true) { stack in
            let (token, userID) = try await stack.signUp("events@example.com")
            let create = try await stack.http("POST", "/api/custom-events", json: [
                "title": "First day at the zoo", "description": "Meeting the animals", "promptSeed": "A day of wonder at the zoo",
                "keywords": ["zoo", "animals"], "category": "adventure", "ageRange": "3-5", "pictogramEmoji": "🦁",
            ], token: token)
            #expect(create.status == 201, "\(create.text)")
            let event = try #require(create.json["event"] as? [String: Any])
            let id = try #require(event["id"] as? String)
            #expect(event["tone"] as? String == "gentle" && event["usageCount"] as? Int == 0 && event["lastUsedAt"] is NSNull)

            for (body, field) in [
                (["title": "x", "description": "d", "promptSeed": "p", "category": "space"], "category"),
                (["title": "x", "description": "d", "promptSeed": "p", "category": "family", "tone": "grim"], "tone"),
                (["title": "x", "description": "d", "promptSeed": "p", "category": "family", "ageRange": "40-50"], "ageRange"),
                (["title": "x", "description": "d", "promptSeed": "p", "category": "family", "pictogramEmoji": "lion face"], "pictogramEmoji"),
                (["description": "d", "promptSeed": "p", "category": "family"], "title"),
                (["title": "x", "description": "d", "category": "family"], "promptSeed"),
            ] as [([String: Any], String)] {
                let reply = try await stack.http("POST", "/api/custom-events", json: body, token: token)
                #expect(reply.status == 400 && reply.errorField == field, "\(body): \(reply.text)")
            }

            let patched = try await stack.http("PATCH", "/api/custom-events/\(id)", json: ["isFavorite": true, "tone": "funny"], token: token)
            #expect((patched.json["event"] as? [String: Any])?["tone"] as? String == "funny")
            _ = try await stack.http("POST", "/api/custom-events", json: [
                "title": "Grandma visits", "description": "d", "promptSeed": "p", "category": "family",
            ], token: token)
            #expect(try await stack.http("GET", "/api/custom-events?isFavorite=true", token: token).total == 1)
            #expect(try await stack.http("GET", "/api/custom-events?category=family", token: token).list("events").first?["title"] as? String == "Grandma visits")
            #expect(try await stack.http("GET", "/api/custom-events?sortBy=title&sortOrder=asc", token: token).list("events").first?["title"] as? String == "First day at the zoo")

            // A story told from the event counts its use; deleting the event keeps the story.
            let hero = try #require(try await CatalogFixture.hero(stack, token: token, name: "Alice")["id"] as? String)
            let story = try await CatalogFixture.asService(stack) { client, metadata in
                try await client.createStory(.with {
                    $0.userID = userID
                    $0.heroID = hero
                    $0.title = "Zoo"
                    $0.content = "Lions!"
                    $0.customEventID = id
                }, metadata: metadata).story
            }
            let used = try await stack.http("GET", "/api/custom-events/\(id)", token: token).json["event"] as? [String: Any]
            #expect(used?["usageCount"] as? Int == 1 && used?["lastUsedAt"] is String)
            #expect(try await stack.http("GET", "/api/custom-events?sortBy=usageCount", token: token).list("events").first?["id"] as? String == id)
            #expect(try await stack.http("DELETE", "/api/custom-events/\(id)", token: token).json["success"] as? Bool == true)
            let kept = try await stack.http("GET", "/api/stories/\(story.id)", token: token).json["story"] as? [String: Any]
            #expect(kept?["customEventId"] is NSNull && kept?["title"] as? String == "Zoo")
        }
    }
}
