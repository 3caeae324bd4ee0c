import AtelierProtos
import AtelierTestSupport
import Foundation
import GRPCCore
import ServiceKit
import Testing

/// The catalog's own tables reference each other (foreign keys) and check their enum-like
/// columns, on both databases.
@Suite("Catalog constraints")
struct ConstraintTests {
    @Test("deleting a character while themes are created for it leaves no orphan", arguments: TestBackend.available)
    func noOrphanThemes(backend: TestBackend) async throws {
        try await TestStack.with(backend, services: [.catalog]) { stack in
            try await stack.withClient(.catalog) { grpc in
                let catalog = CatalogClient(wrapping: grpc)
                let user = try stack.userMetadata(id: "user_racer", sessionID: "s", plan: "pro")
                for round in 0..<5 {
                    let character = try await catalog.createCharacter(.with { $0.character = .with { $0.name = "Racer \(round)" } },
                                                                      metadata: user).character.id
                    try await withThrowingTaskGroup(of: Void.self) { group in
                        for index in 0..<12 {
                            group.addTask {
                                // Each create either lands before the delete (and goes with the
                                // character) or finds the character gone.
                                let outcome = await failure {
                                    try await catalog.createTheme(.with { $0.characterID = character; $0.name = "Theme \(index)" }, metadata: user)
                                }
                                #expect(outcome == nil || outcome?.code == .notFound, "\(outcome.map { "\($0)" } ?? "")")
                            }
                        }
                        group.addTask {
                            try await Task.sleep(for: .milliseconds(5))
                            _ = try await catalog.deleteCharacter(.with { $0.characterID = character }, metadata: user)
                        }
                        try await group.waitForAll()
                    }
                }
                let orphans = try await stack.database(.catalog).count("""
                    SELECT COUNT(*) AS n FROM themes t WHERE NOT EXISTS (SELECT 1 FROM characters c WHERE c.id = t.character_id)
                    """)
                #expect(orphans == 0)
                #expect(try await stack.database(.catalog).count("SELECT COUNT(*) AS n FROM themes") == 0)
            }
        }
    }

    @Test("a character's themes, variants, media, tags and memberships go with it; a hero's stories stay",
          arguments: TestBackend.available)
    func cascades(backend: TestBackend) async throws {
        try await TestStack.with(backend, edge: true) { stack in
            let (token, userID) = try await stack.signUp("owner@example.com")
            let character = try #require(try await CatalogFixture.character(stack, token: token, ["name": "Aria", "tags": ["hero"]])["id"] as? String)
            _ = try await CatalogFixture.attachMedia(stack, user: userID, character: character)
            let theme = try #require(((try await stack.http("POST", "/api/characters/\(character)/themes", json: ["name": "Winter"], token: token))
                .json["theme"] as? [String: Any])?["id"] as? String)
            _ = try await CatalogFixture.addVariant(stack, user: userID, theme: theme, prompt: "smile")
            let collection = try #require(((try await stack.http("POST", "/api/collections", json: ["name": "Mine"], token: token))
                .json["collection"] as? [String: Any])?["id"] as? String)
            _ = try await stack.http("POST", "/api/collections/\(collection)/characters", json: ["characterId": character], token: token)
            let hero = try #require(try await CatalogFixture.hero(stack, token: token, name: "Alice")["id"] as? String)
            let story = try await CatalogFixture.createStory(stack, user: userID, hero: hero, title: "Moon")
            _ = try await CatalogFixture.addIllustration(stack, user: userID, story: story.id, at: 1)

            #expect(try await stack.http("DELETE", "/api/characters/\(character)", token: token).status == 200)
            let db = stack.database(.catalog)
            for table: SQLIdentifier in ["themes", "variants", "media", "character_tags", "collection_characters"] {
                #expect(try await db.count("SELECT COUNT(*) AS n FROM \(table)") == 0, "\(table)")
            }
            let kept = try await stack.http("GET", "/api/collections/\(collection)", token: token)
            #expect((kept.json["collection"] as? [String: Any])?["characterCount"] as? Int == 0)

            #expect(try await stack.http("DELETE", "/api/heroes/\(hero)", token: token).json["storiesAffected"] as? Int == 1)
            let orphaned = try await stack.http("GET", "/api/stories/\(story.id)", token: token)
            #expect(orphaned.status == 200 && (orphaned.json["story"] as? [String: Any])?["heroId"] is NSNull)
            #expect(try await db.count("SELECT COUNT(*) AS n FROM illustrations") == 1, "the story keeps its illustrations")
            #expect(try await stack.http("DELETE", "/api/stories/\(story.id)", token: token).status == 200)
            #expect(try await db.count("SELECT COUNT(*) AS n FROM illustrations") == 0, "and they go with it")
        }
    }

    @Test("enum-like columns refuse values the API would never write", arguments: TestBackend.available)
    func checks(backend: TestBackend) async throws {
        try await TestStack.with(backend, edge: true) { stack in
            let (token, _) = try await stack.signUp("owner@example.com")
            let character = try #require(try await CatalogFixture.character(stack, token: token, ["name": "Aria"])["id"] as? String)
            let db = stack.database(.catalog)
            await #expect(throws: DatabaseError.self) {
                try await db.query("UPDATE characters SET style_type = 'baroque' WHERE id = \(character)")
            }
            await #expect(throws: DatabaseError.self) {
                try await db.query("UPDATE characters SET generation_status = 'someday' WHERE id = \(character)")
            }
        }
    }
}
