import AtelierProtos
import AtelierTestSupport
import Foundation
import GRPCCore
import ServiceKit
import Testing

@Suite("Themes, variants, collections and media through the edge")
struct GalleryTests {
    @Test("themes: unique names per character, variant counts, variants listed and deleted", arguments: TestBackend.available)
    func themes(backend: TestBackend) async throws {
        try await TestStack.with(backend, edge: true) { stack in
            let (token, userID) = try await stack.signUp("themer@example.com")
            let character = try #require(try await CatalogFixture.character(stack, token: token, ["name": "Aria"])["id"] as? String)
            let created = try await stack.http("POST", "/api/characters/\(character)/themes",
                                               json: ["name": "Winter Outfits", "description": "Snow and scarves"], token: token)
            #expect(created.status == 201, "\(created.text)")
            let theme = try #require((created.json["theme"] as? [String: Any])?["id"] as? String)
            let again = try await stack.http("POST", "/api/characters/\(character)/themes", json: ["name": "Winter Outfits"], token: token)
            #expect(again.status == 409 && again.errorField == "name", "\(again.text)")
            #expect(try await stack.http("POST", "/api/characters/\(character)/themes", json: ["name": ""], token: token).errorField == "name")
            _ = try await stack.http("POST", "/api/characters/\(character)/themes", json: ["name": "Action Poses"], token: token)

            let first = try await CatalogFixture.addVariant(stack, user: userID, theme: theme, prompt: "make them smile", key: "job_a")
            let retry = try await CatalogFixture.addVariant(stack, user: userID, theme: theme, prompt: "make them smile", key: "job_a")
            #expect(first.id == retry.id, "a retried call returns the first variant")
            try await Task.sleep(for: .milliseconds(5))
            let second = try await CatalogFixture.addVariant(stack, user: userID, theme: theme, prompt: "add a hat")

            let themes = try await stack.http("GET", "/api/characters/\(character)/themes", token: token)
            #expect(themes.list("themes").compactMap { $0["name"] as? String } == ["Winter Outfits", "Action Poses"])
            #expect(themes.list("themes").first?["variantCount"] as? Int == 2)
            let variants = try await stack.http("GET", "/api/themes/\(theme)/variants", token: token)
            #expect(variants.list("variants").compactMap { $0["prompt"] as? String } == ["add a hat", "make them smile"])
            #expect(variants.list("variants").first?["metadata"] as? [String: String] == ["model": "local"])

            #expect(try await stack.http("DELETE", "/api/variants/\(second.id)", token: token).json["success"] as? Bool == true)
            #expect((try await stack.http("GET", "/api/themes/\(theme)", token: token).json["theme"] as? [String: Any])?["variantCount"] as? Int == 1)
            let renamed = try await stack.http("PATCH", "/api/themes/\(theme)", json: ["name": "Cold Weather"], token: token)
            #expect((renamed.json["theme"] as? [String: Any])?["name"] as? String == "Cold Weather")
            #expect(try await stack.http("PATCH", "/api/themes/\(theme)", json: ["name": "Action Poses"], token: token).status == 409)
            #expect(try await stack.http("DELETE", "/api/themes/\(theme)", token: token).json["success"] as? Bool == true)
            #expect(try await stack.http("GET", "/api/themes/\(theme)/variants", token: token).status == 404)

            // A variant for a theme that is not the user's is refused.
            await #expect(throws: RPCError.self) {
                _ = try await CatalogFixture.addVariant(stack, user: "someone_else", theme: theme, prompt: "x")
            }
        }
    }

    @Test("collections: create, rename, add and remove characters, one character in several", arguments: TestBackend.available)
    func collections(backend: TestBackend) async throws {
        try await TestStack.with(backend, edge: true) { stack in
            let (token, _) = try await stack.signUp("collector@example.com")
            let character = try #require(try await CatalogFixture.character(stack, token: token, ["name": "Aria"])["id"] as? String)
            var ids: [String] = []
            for name in ["Favourites", "Fantasy"] {
                let reply = try await stack.http("POST", "/api/collections", json: ["name": name], token: token)
                #expect(reply.status == 201, "\(reply.text)")
                ids.append(try #require((reply.json["collection"] as? [String: Any])?["id"] as? String))
            }
            for id in ids {
                let added = try await stack.http("POST", "/api/collections/\(id)/characters", json: ["characterId": character], token: token)
                #expect((added.json["collection"] as? [String: Any])?["characterCount"] as? Int == 1, "\(added.text)")
            }
            // Adding twice changes nothing.
            let twice = try await stack.http("POST", "/api/collections/\(ids[0])/characters", json: ["characterId": character], token: token)
            #expect((twice.json["collection"] as? [String: Any])?["characterCount"] as? Int == 1)
            #expect(try await stack.http("GET", "/api/collections?characterId=\(character)", token: token).total == 2)
            let members = try await stack.http("GET", "/api/collections/\(ids[0])/characters", token: token)
            #expect(members.list("characters").compactMap { $0["name"] as? String } == ["Aria"])

            let renamed = try await stack.http("PATCH", "/api/collections/\(ids[0])", json: ["name": "Best", "isPublic": true], token: token)
            #expect((renamed.json["collection"] as? [String: Any])?["name"] as? String == "Best")
            #expect(try await stack.http("PATCH", "/api/collections/\(ids[0])", json: ["name": " "], token: token).errorField == "name")

            let removed = try await stack.http("DELETE", "/api/collections/\(ids[0])/characters/\(character)", token: token)
            #expect((removed.json["collection"] as? [String: Any])?["characterCount"] as? Int == 0)
            #expect(try await stack.http("DELETE", "/api/collections/\(ids[0])/characters/\(character)", token: token).status == 404)

            // Deleting the character takes it out of its collections; deleting a collection keeps characters.
            _ = try await stack.http("DELETE", "/api/characters/\(character)", token: token)
            #expect((try await stack.http("GET", "/api/collections/\(ids[1])", token: token).json["collection"] as? [String: Any])?["characterCount"] as? Int == 0)
            #expect(try await stack.http("DELETE", "/api/collections/\(ids[1])", token: token).json["success"] as? Bool == true)
            #expect(try await stack.http("GET", "/api/collections", token: token).total == 1)
        }
    }

    @Test("media: the gallery by character and type, one item, delete, idempotent attach", arguments: TestBackend.available)
    func media(backend: TestBackend) async throws {
        try await TestStack.with(backend, edge: true) { stack in
            let (token, userID) = try await stack.signUp("gallery@example.com")
            let character = try #require(try await CatalogFixture.character(stack, token: token, ["name": "Aria"])["id"] as? String)
            let image = try await CatalogFixture.attachMedia(stack, user: userID, character: character, key: "job_1:0")
            let retry = try await CatalogFixture.attachMedia(stack, user: userID, character: character, key: "job_1:0")
            #expect(image.id == retry.id)
            try await Task.sleep(for: .milliseconds(5))
            let video = try await CatalogFixture.attachMedia(stack, user: userID, character: character, type: "video")
            // Another user's character, or none: NotFound, and nothing is attached or counted.
            let (_, otherID) = try await stack.signUp("other@example.com")
            for (user, target) in [(otherID, character), (userID, "chr_missing")] {
                do {
                    _ = try await CatalogFixture.attachMedia(stack, user: user, character: target, key: "job_2:0")
                    Issue.record("attached to \(target) for \(user)")
                } catch let error as RPCError {
                    #expect(error.code == .notFound, "\(error)")
                }
            }

            let all = try await stack.http("GET", "/api/media?characterId=\(character)", token: token)
            #expect(all.status == 200, "\(all.text)")
            #expect(all.list("media").compactMap { $0["id"] as? String } == [video.id, image.id])
            #expect(all.total == 2)
            let snake = try await stack.http("GET", "/api/media?character_id=\(character)&type=video", token: token)
            #expect(snake.list("media").compactMap { $0["id"] as? String } == [video.id])
            let one = try await stack.http("GET", "/api/media/\(video.id)", token: token).json["media"] as? [String: Any]
            #expect(one?["durationSeconds"] as? Double == 4 && one?["watermarked"] as? Bool == true && one?["width"] as? Int == 1024)
            #expect((one?["generationParams"] as? [String: String])?["seed"] == "42")
            #expect(try await stack.http("GET", "/api/media", token: token).errorField == "characterId")
            #expect(try await stack.http("GET", "/api/media?characterId=\(character)&type=gif", token: token).errorField == "type")

            #expect(try await stack.http("DELETE", "/api/media/\(image.id)", token: token).json["success"] as? Bool == true)
            #expect(try await stack.http("GET", "/api/media/\(image.id)", token: token).status == 404)
            let counts = try await stack.http("GET", "/api/characters/\(character)", token: token).json["character"] as? [String: Any]
            #expect(counts?["imageCount"] as? Int == 0 && counts?["videoCount"] as? Int == 1)
            // Deleting the character deletes its gallery.
            _ = try await stack.http("DELETE", "/api/characters/\(character)", token: token)
            #expect(try await stack.http("GET", "/api/media/\(video.id)", token: token).status == 404)
        }
    }

    @Test("generation's batches: several users' characters in one read, several attachments in one call", arguments: TestBackend.available)
    func batches(backend: TestBackend) async throws {
        try await TestStack.with(backend, edge: true) { stack in
            let (token, userID) = try await stack.signUp("batcher@example.com")
            let (otherToken, otherID) = try await stack.signUp("other-batcher@example.com")
            let mine = try #require(try await CatalogFixture.character(stack, token: token, ["name": "Aria"])["id"] as? String)
            let theirs = try #require(try await CatalogFixture.character(stack, token: otherToken, ["name": "Bo"])["id"] as? String)

            // Each read as its owner reads it: another user's character, a missing one and an id
            // that cannot be one come back empty, in their places.
            let wanted = [(userID, mine), (otherID, theirs), (userID, theirs), (userID, "chr_missing"), (userID, "not an id!"), (userID, mine)]
            let read = try await CatalogFixture.asService(stack) { client, metadata in
                try await client.getCharacters(.with {
                    $0.characters = wanted.map { user, id in .with { $0.userID = user; $0.characterID = id } }
                }, metadata: metadata).characters
            }
            #expect(read.map(\.id) == [mine, theirs, "", "", "", mine])
            #expect(read.map(\.name) == ["Aria", "Bo", "", "", "", "Aria"])

            // Attached in order, each under its key: a retry of the batch returns the same media.
            let batch = [CatalogFixture.attachment(user: userID, character: mine, key: "job_b:0"),
                         CatalogFixture.attachment(user: userID, character: mine, type: "video", key: "job_c:0"),
                         CatalogFixture.attachment(user: otherID, character: theirs, key: "job_d:0")]
            let attached = try await CatalogFixture.asService(stack) { client, metadata in
                try await client.attachMediaBatch(.with { $0.attachments = batch }, metadata: metadata).media
            }
            #expect(attached.map(\.type) == ["image", "video", "image"] && attached.map(\.characterID) == [mine, mine, theirs])
            let again = try await CatalogFixture.asService(stack) { client, metadata in
                try await client.attachMediaBatch(.with { $0.attachments = batch }, metadata: metadata).media
            }
            #expect(again.map(\.id) == attached.map(\.id))
            let aria = try await stack.http("GET", "/api/characters/\(mine)", token: token).json["character"] as? [String: Any]
            #expect(aria?["imageCount"] as? Int == 1 && aria?["videoCount"] as? Int == 1)
            #expect(aria?["imageUrl"] as? String == attached[0].url, "the first image becomes the character's picture")

            // The first that fails fails the call; those before it are made, and their key finds them.
            let failing = [CatalogFixture.attachment(user: userID, character: mine, key: "job_e:0"),
                           CatalogFixture.attachment(user: userID, character: theirs, key: "job_f:0"),
                           CatalogFixture.attachment(user: userID, character: mine, key: "job_g:0")]
            do {
                _ = try await CatalogFixture.asService(stack) { client, metadata in
                    try await client.attachMediaBatch(.with { $0.attachments = failing }, metadata: metadata)
                }
                Issue.record("a batch with another user's character was attached")
            } catch let error as RPCError {
                #expect(error.code == .notFound, "\(error)")
            }
            let made = try await CatalogFixture.attachMedia(stack, user: userID, character: mine, key: "job_e:0")
            #expect(try await stack.http("GET", "/api/media?characterId=\(mine)", token: token).total == 3)
            #expect(try await stack.http("GET", "/api/media/\(made.id)", token: token).status == 200)

            // At most 100 items a call.
            do {
                _ = try await CatalogFixture.asService(stack) { client, metadata in
                    try await client.getCharacters(.with {
                        $0.characters = Array(repeating: .with { $0.userID = userID; $0.characterID = mine }, count: 101)
                    }, metadata: metadata)
                }
                Issue.record("a read of 101 characters was answered")
            } catch let error as RPCError {
                #expect(error.code == .invalidArgument && error.message.contains("at most 100 characters"), "\(error)")
            }

            // Users may call neither.
            try await stack.withClient(.catalog) { client in
                let catalog = CatalogClient(wrapping: client)
                let metadata = try stack.userMetadata(id: userID, sessionID: "s")
                let calls: [() async throws -> Void] = [
                    { _ = try await catalog.getCharacters(.with { $0.characters = [.with { $0.userID = userID; $0.characterID = mine }] }, metadata: metadata) },
                    { _ = try await catalog.attachMediaBatch(.with { $0.attachments = [batch[0]] }, metadata: metadata) },
                ]
                for call in calls {
                    do {
                        try await call()
                        Issue.record("a user called a services-only batch")
                    } catch let error as RPCError {
                        #expect(error.code == .permissionDenied, "\(error)")
                    }
                }
            }
        }
    }
}
