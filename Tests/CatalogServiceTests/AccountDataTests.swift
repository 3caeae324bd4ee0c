import AtelierProtos
import AtelierTestSupport
import Foundation
import ServiceKit
import Testing

@Suite("A user's data: export and deletion")
struct AccountDataTests {
    @Test("GET /api/user/export holds the account, every catalog object and the commerce records; deleting the account purges the catalog", arguments: TestBackend.available)
    func exportAndPurge(backend: TestBackend) async throws {
        try await TestStack.with(backend, edge: true) { stack in
            let (token, userID) = try await stack.signUp("leaving@example.com")
            let (neighbour, _) = try await stack.signUp("staying@example.com")
            let character = try #require(try await CatalogFixture.character(stack, token: token, ["name": "Aria", "isPublic": true])["id"] as? String)
            _ = try await CatalogFixture.character(stack, token: neighbour, ["name": "Neighbour", "isPublic": true])
            _ = try await CatalogFixture.attachMedia(stack, user: userID, character: character)
            let theme = try #require(((try await stack.http("POST", "/api/characters/\(character)/themes", json: ["name": "Winter"], token: token))
                .json["theme"] as? [String: Any])?["id"] as? String)
            _ = try await CatalogFixture.addVariant(stack, user: userID, theme: theme, prompt: "smile")
            let collection = try #require(((try await stack.http("POST", "/api/collections", json: ["name": "Mine"], token: token))
                .json["collection"] as? [String: Any])?["id"] as? String)
            _ = try await stack.http("POST", "/api/collections/\(collection)/characters", json: ["characterId": character], token: token)
            let hero = try #require(try await CatalogFixture.hero(stack, token: token, name: "Alice")["id"] as? String)
            let story = try await CatalogFixture.createStory(stack, user: userID, hero: hero, title: "Moon")
            _ = try await CatalogFixture.addIllustration(stack, user: userID, story: story.id, at: 5)
            _ = try await stack.http("POST", "/api/custom-events", json: ["title": "Zoo", "description": "d", "promptSeed": "p", "category": "adventure"], token: token)

            // 120 admin grants: the export reads the ledger page by page (100 at most per page).
            try await stack.withClient(.commerce) { client in
                let commerce = Atelier_Commerce_V1_CommerceService.Client(wrapping: client)
                for index in 0..<120 {
                    _ = try await commerce.grant(.with {
                        $0.userID = userID; $0.asset = "credits"; $0.amount = 1; $0.source = "admin"; $0.idempotencyKey = "export-\(index)"
                    }, metadata: try stack.serviceMetadata())
                }
            }

            let export = try await stack.http("GET", "/api/user/export", token: token)
            #expect(export.status == 200, "\(export.text)")
            #expect(((export.json["account"] as? [String: Any])?["user"] as? [String: Any])?["email"] as? String == "leaving@example.com")
            let catalog = try #require(export.json["catalog"] as? [String: Any])
            for (key, count) in [("characters", 1), ("themes", 1), ("variants", 1), ("collections", 1), ("collectionCharacters", 1),
                                 ("media", 1), ("heroes", 1), ("stories", 1), ("customEvents", 1)] {
                #expect((catalog[key] as? [Any])?.count == count, "\(key)")
            }
            #expect((((catalog["stories"] as? [[String: Any]])?.first)?["illustrations"] as? [Any])?.count == 1)
            let commerce = try #require(export.json["commerce"] as? [String: Any])
            #expect((commerce["wallet"] as? [String: Any])?["credits"] as? Int == 123, "the signup grant of 3 and 120 of 1")
            let ledger = try #require(commerce["ledger"] as? [[String: Any]])
            let listed = try await stack.http("GET", "/api/wallet/ledger?limit=1", token: token)
            #expect(ledger.count == (listed.json["pagination"] as? [String: Any])?["total"] as? Int && Set(ledger.compactMap { $0["id"] as? String }).count == ledger.count)
            #expect(ledger.filter { $0["source"] as? String == "admin" }.count == 120)
            #expect(((commerce["subscription"] as? [String: Any])?["subscription"] as? [String: Any])?["status"] as? String == "none")
            #expect((commerce["payments"] as? [Any])?.isEmpty == true)
            #expect(!export.text.contains("Neighbour"), "nobody else's data")
            #expect(try await stack.http("GET", "/api/user/export").status == 401)

            // Wrong password: nothing is deleted anywhere.
            #expect(try await stack.http("DELETE", "/api/user/account", json: ["password": "Wrong-Password-1"], token: token).status == 403)
            #expect(try await stack.database(.catalog).count("SELECT COUNT(*) AS n FROM characters WHERE user_id = \(userID)") == 1)

            let deleted = try await stack.http("DELETE", "/api/user/account", json: ["password": "Quiet-River-42"], token: token)
            #expect(deleted.status == 200, "\(deleted.text)")
            let db = stack.database(.catalog)
            for table: SQLIdentifier in ["characters", "character_tags", "themes", "variants", "collections", "collection_characters", "media", "heroes",
                          "stories", "illustrations", "custom_events", "owners"] {
                #expect(try await db.count("SELECT COUNT(*) AS n FROM \(table) WHERE user_id = \(userID)") == 0, "\(table)")
            }
            // Explore no longer counts the deleted user's public character; the neighbour's stays.
            let explore = try await stack.http("GET", "/api/explore")
            #expect(explore.total == 1 && explore.list("characters").first?["name"] as? String == "Neighbour")
        }
    }

    @Test("stories past a message's 4 MiB limit: the export reads them in pages, once each, in order; the list's largest page arrives",
          arguments: TestBackend.available)
    func pagedExport(backend: TestBackend) async throws {
        try await TestStack.with(backend, edge: true) { stack in
            let (token, userID) = try await stack.signUp("writer@example.com")
            let hero = try #require(try await CatalogFixture.hero(stack, token: token, name: "Alice")["id"] as? String)
            // 100 stories of 50,000 characters: 5 MB, more than one gRPC message may carry.
            let text = String(repeating: "The moon hummed softly. ", count: 2_084).prefix(50_000)
            // One connection for all of them, as generation would hold.
            let made = try await CatalogFixture.asService(stack) { catalog, metadata in
                var made: [String] = []
                for index in 0..<100 {
                    made.append(try await catalog.createStory(.with {
                        $0.userID = userID; $0.heroID = hero; $0.title = "Night \(index)"; $0.content = String(text); $0.eventType = "bedtime"
                        $0.language = "en"
                    }, metadata: metadata).story.id)
                }
                return made
            }
            _ = try await CatalogFixture.addIllustration(stack, user: userID, story: made[99], at: 3)

            // Straight from the catalog: several pages, each well under the limit.
            var pages = 0
            var pageToken = ""
            try await CatalogFixture.asService(stack) { catalog, metadata in
                repeat {
                    let page = try await catalog.exportUser(.with { $0.userID = userID; $0.pageToken = pageToken }, metadata: metadata)
                    #expect(try (page.serializedBytes() as [UInt8]).count < 2 << 20)
                    pageToken = page.nextPageToken
                    pages += 1
                } while !pageToken.isEmpty
                let bad = await failure { try await catalog.exportUser(.with { $0.userID = userID; $0.pageToken = "9:x:y" }, metadata: metadata) }
                #expect(bad?.field == "pageToken")
            }
            #expect(pages >= 3, "5 MB in pages of at most 2 MiB")

            let export = try await stack.http("GET", "/api/user/export", token: token)
            #expect(export.status == 200, "\(export.text.prefix(300))")
            let stories = try #require((export.json["catalog"] as? [String: Any])?["stories"] as? [[String: Any]])
            #expect(stories.compactMap { $0["id"] as? String } == made, "every story once, oldest first")
            #expect((stories.last?["illustrations"] as? [Any])?.count == 1)
            #expect((stories.first?["content"] as? String)?.count == 50_000)

            // The largest page of the list (100 such stories, 5 MB) reaches the edge too.
            let listed = try await stack.http("GET", "/api/stories?limit=100", token: token)
            #expect(listed.status == 200 && listed.list("stories").count == 100, "\(listed.status) \(listed.text.prefix(300))")
        }
    }

    @Test("a purge keeps the record of each uploaded file until the caller reports the file removed", arguments: TestBackend.available)
    func purgeKeepsFileRecords(backend: TestBackend) async throws {
        try await TestStack.with(backend, services: [.catalog]) { stack in
            let user = "user_leaving"
            let keys = ["avatars/a1.png", "audio/b2.mp3"]
            try await CatalogFixture.asService(stack) { catalog, metadata in
                for key in keys {
                    _ = try await catalog.recordUpload(.with {
                        $0.userID = user
                        // Links that have expired: no file can land under these keys any more.
                        $0.file = .with {
                            $0.storageKey = key; $0.fileName = "f"; $0.mimeType = "image/png"; $0.category = "avatar"; $0.fileSize = 1
                            $0.linkExpiresAt = .init(date: Date().addingTimeInterval(-1))
                        }
                    }, metadata: metadata)
                }
                let purge = { (removed: [String]) in
                    try await catalog.purgeUser(.with { $0.userID = user; $0.removedStorageKeys = removed }, metadata: metadata)
                }
                #expect(try await purge([]).storageKeys == keys.sorted())
                // The blob store could not remove one: it is named again by the next purge, and only it.
                #expect(try await purge(["audio/b2.mp3"]).storageKeys == ["avatars/a1.png"])
                #expect(try await purge([]).storageKeys == ["avatars/a1.png"])
                let done = try await purge(["avatars/a1.png", "avatars/not-hers.png"])
                #expect(done.storageKeys.isEmpty && done.deleted == 1)
                let tooMany = await failure { try await purge((0...1000).map { "avatars/\($0).png" }) }
                #expect(tooMany?.field == "removedStorageKeys")
            }
        }
    }

    @Test("the OpenAPI document lists every catalog route", arguments: [TestBackend.sqlite])
    func openAPI(backend: TestBackend) async throws {
        try await TestStack.with(backend, edge: true) { stack in
            let paths = try #require(try await stack.http("GET", "/openapi.json").json["paths"] as? [String: [String: Any]])
            let expected: [(String, [String])] = [
                ("/api/characters", ["get", "post"]), ("/api/characters/{character_id}", ["get", "put", "patch", "delete"]),
                ("/api/explore", ["get"]), ("/api/characters/{character_id}/themes", ["get", "post"]),
                ("/api/themes/{theme_id}", ["get", "patch", "delete"]), ("/api/themes/{theme_id}/variants", ["get"]),
                ("/api/variants/{id}", ["delete"]), ("/api/collections", ["get", "post"]),
                ("/api/collections/{collection_id}", ["get", "patch", "delete"]),
                ("/api/collections/{collection_id}/characters", ["get", "post"]),
                ("/api/collections/{collection_id}/characters/{character_id}", ["delete"]),
                ("/api/media", ["get"]), ("/api/media/{id}", ["get", "delete"]),
                ("/api/heroes", ["get", "post"]), ("/api/heroes/{hero_id}", ["get", "patch", "delete"]),
                ("/api/stories", ["get"]), ("/api/stories/{story_id}", ["get", "patch", "delete"]),
                ("/api/stories/{story_id}/listen", ["post"]), ("/api/stories/{story_id}/illustrations", ["get"]),
                ("/api/stories/{story_id}/illustrations/{illustration_id}", ["delete"]),
                ("/api/custom-events", ["get", "post"]), ("/api/custom-events/{event_id}", ["get", "patch", "delete"]),
                ("/api/user/export", ["get"]), ("/api/files/upload", ["post"]), ("/files/{folder}/{name}", ["get", "put"]),
                ("/api/characters/{character_id}/media.zip", ["get"]),
            ]
            for (path, methods) in expected {
                for method in methods { #expect(paths[path]?[method] != nil, "\(method.uppercased()) \(path)") }
            }
        }
    }
}
