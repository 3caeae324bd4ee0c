import AtelierProtos
import AtelierTestSupport
import Foundation
import ServiceKit
import Testing

@Suite("Another user's objects")
struct OwnershipTests {
    @Test("a second user walks every catalog route with the first user's ids and gets 404, changing nothing", arguments: TestBackend.available)
    func secondUserWalk(backend: TestBackend) async throws {
        try await TestStack.with(backend, edge: true) { stack in
            let (owner, ownerID) = try await stack.signUp("owner@example.com")
            let (intruder, _) = try await stack.signUp("intruder@example.com")
            let character = try #require(try await CatalogFixture.character(stack, token: owner, ["name": "Aria", "isPublic": true])["id"] as? String)
            let theme = try #require(((try await stack.http("POST", "/api/characters/\(character)/themes", json: ["name": "Winter"], token: owner))
                .json["theme"] as? [String: Any])?["id"] as? String)
            let variant = try await CatalogFixture.addVariant(stack, user: ownerID, theme: theme, prompt: "smile").id
            let collection = try #require(((try await stack.http("POST", "/api/collections", json: ["name": "Mine"], token: owner))
                .json["collection"] as? [String: Any])?["id"] as? String)
            _ = try await stack.http("POST", "/api/collections/\(collection)/characters", json: ["characterId": character], token: owner)
            let media = try await CatalogFixture.attachMedia(stack, user: ownerID, character: character).id
            let hero = try #require(try await CatalogFixture.hero(stack, token: owner, name: "Alice")["id"] as? String)
            let story = try await CatalogFixture.createStory(stack, user: ownerID, hero: hero, title: "Moon").id
            let illustration = try await CatalogFixture.addIllustration(stack, user: ownerID, story: story, at: 10).id
            let event = try #require(((try await stack.http("POST", "/api/custom-events", json: [
                "title": "Zoo", "description": "d", "promptSeed": "p", "category": "adventure",
            ], token: owner)).json["event"] as? [String: Any])?["id"] as? String)

            let walk: [(String, String, [String: Any]?)] = [
                ("GET", "/api/characters/\(character)", nil),
                ("PUT", "/api/characters/\(character)", ["name": "Stolen"]),
                ("PATCH", "/api/characters/\(character)", ["name": "Stolen"]),
                ("DELETE", "/api/characters/\(character)", nil),
                ("POST", "/api/characters/\(character)/themes", ["name": "Mine now"]),
                ("GET", "/api/characters/\(character)/themes", nil),
                ("GET", "/api/themes/\(theme)", nil),
                ("PATCH", "/api/themes/\(theme)", ["name": "Stolen"]),
                ("DELETE", "/api/themes/\(theme)", nil),
                ("GET", "/api/themes/\(theme)/variants", nil),
                ("DELETE", "/api/variants/\(variant)", nil),
                ("GET", "/api/collections/\(collection)", nil),
                ("PATCH", "/api/collections/\(collection)", ["name": "Stolen"]),
                ("DELETE", "/api/collections/\(collection)", nil),
                ("GET", "/api/collections/\(collection)/characters", nil),
                ("POST", "/api/collections/\(collection)/characters", ["characterId": character]),
                ("DELETE", "/api/collections/\(collection)/characters/\(character)", nil),
                ("GET", "/api/media?characterId=\(character)", nil),
                ("GET", "/api/media/\(media)", nil),
                ("DELETE", "/api/media/\(media)", nil),
                ("GET", "/api/characters/\(character)/media.zip", nil),
                ("GET", "/api/heroes/\(hero)", nil),
                ("PATCH", "/api/heroes/\(hero)", ["name": "Stolen"]),
                ("DELETE", "/api/heroes/\(hero)", nil),
                ("GET", "/api/stories/\(story)", nil),
                ("PATCH", "/api/stories/\(story)", ["title": "Stolen"]),
                ("DELETE", "/api/stories/\(story)", nil),
                ("POST", "/api/stories/\(story)/listen", [:]),
                ("GET", "/api/stories/\(story)/illustrations", nil),
                ("DELETE", "/api/stories/\(story)/illustrations/\(illustration)", nil),
                ("GET", "/api/custom-events/\(event)", nil),
                ("PATCH", "/api/custom-events/\(event)", ["title": "Stolen"]),
                ("DELETE", "/api/custom-events/\(event)", nil),
            ]
            for (method, path, body) in walk {
                let reply = try await stack.http(method, path, json: body, token: intruder)
                #expect(reply.status == 404, "\(method) \(path): \(reply.status) \(reply.text)")
                #expect(reply.errorCode == "NOT_FOUND", "\(method) \(path): \(reply.text)")
            }
            // The intruder's own collection cannot take the owner's character either.
            let theirs = try #require(((try await stack.http("POST", "/api/collections", json: ["name": "Theirs"], token: intruder))
                .json["collection"] as? [String: Any])?["id"] as? String)
            #expect(try await stack.http("POST", "/api/collections/\(theirs)/characters", json: ["characterId": character], token: intruder).status == 404)
            // Lists show the intruder nothing of the owner's.
            for path in ["/api/characters", "/api/heroes", "/api/stories", "/api/custom-events"] {
                #expect(try await stack.http("GET", path, token: intruder).total == 0, "\(path)")
            }

            // Everything is as the owner left it.
            #expect((try await stack.http("GET", "/api/characters/\(character)", token: owner).json["character"] as? [String: Any])?["name"] as? String == "Aria")
            #expect((try await stack.http("GET", "/api/themes/\(theme)", token: owner).json["theme"] as? [String: Any])?["variantCount"] as? Int == 1)
            #expect((try await stack.http("GET", "/api/collections/\(collection)", token: owner).json["collection"] as? [String: Any])?["characterCount"] as? Int == 1)
            #expect(try await stack.http("GET", "/api/media/\(media)", token: owner).status == 200)
            #expect((try await stack.http("GET", "/api/heroes/\(hero)", token: owner).json["hero"] as? [String: Any])?["name"] as? String == "Alice")
            let ownStory = try await stack.http("GET", "/api/stories/\(story)", token: owner).json["story"] as? [String: Any]
            #expect(ownStory?["title"] as? String == "Moon" && ownStory?["listenCount"] as? Int == 0)
            #expect((ownStory?["illustrations"] as? [Any])?.count == 1)
            #expect((try await stack.http("GET", "/api/custom-events/\(event)", token: owner).json["event"] as? [String: Any])?["title"] as? String == "Zoo")
        }
    }

    @Test("internal RPCs are for services: a user principal is refused", arguments: [TestBackend.sqlite])
    func servicesOnly(backend: TestBackend) async throws {
        try await TestStack.with(backend, services: [.catalog]) { stack in
            try await stack.withClient(.catalog) { grpc in
                let client = CatalogClient(wrapping: grpc)
                let user = try stack.userMetadata(id: "user_1", sessionID: "s")
                await #expect(throws: (any Error).self) {
                    _ = try await client.purgeUser(.with { $0.userID = "user_2" }, metadata: user)
                }
                await #expect(throws: (any Error).self) {
                    _ = try await client.attachMedia(.with { $0.userID = "user_1"; $0.characterID = "chr_x"; $0.type = "image"; $0.url = "https://x/y.png" },
                                                     metadata: user)
                }
                await #expect(throws: (any Error).self) {
                    _ = try await client.listCharacters(.init())
                }
            }
        }
    }
}
