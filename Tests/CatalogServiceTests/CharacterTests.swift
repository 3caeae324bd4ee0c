import AtelierProtos
import AtelierTestSupport
import Foundation
import GRPCCore
import ServiceKit
import Testing

@Suite("Characters through the edge")
struct CharacterTests {
    @Test("create, read, PUT, PATCH and delete keep every attribute", arguments: TestBackend.available)
    func lifecycle(backend: TestBackend) async throws {
        try await TestStack.with(backend, edge: true) { stack in
            let (token, _) = try await stack.signUp("maker@example.com")
            let created = try await CatalogFixture.character(stack, token: token, [
                "name": "Aria", "description": "A wandering bard", "styleType": "anime", "ageRange": "20-25", "gender": "female",
                "ethnicity": "Mixed", "bodyType": "Athletic", "hairStyle": "Long", "hairColor": "Silver", "eyeColor": "Green",
                "skinTone": "Fair", "occupation": "Bard", "personality": ["witty", "brave"], "physicalTraits": ["height": "170cm"],
                "clothing": "Travelling cloak", "background": "Raised by musicians", "customDescription": "A scar on the left cheek",
                "tags": ["Fantasy", "music"], "isPublic": true, "referenceImageUrl": "https://example.com/ref.png",
            ])
            let id = try #require(created["id"] as? String)
            #expect(created["styleType"] as? String == "anime")
            #expect(created["tags"] as? [String] == ["fantasy", "music"])
            #expect(created["generationStatus"] as? String == "pending")
            #expect(created["imageCount"] as? Int == 0 && created["videoCount"] as? Int == 0)
            #expect(created["imageUrl"] is NSNull)
            #expect((created["prompt"] as? String)?.contains("Silver hair") == true)
            #expect((created["physicalTraits"] as? [String: String]) == ["height": "170cm"])

            let read = try await stack.http("GET", "/api/characters/\(id)", token: token)
            #expect(read.status == 200)
            #expect((read.json["character"] as? [String: Any])?["customDescription"] as? String == "A scar on the left cheek")

            // PATCH changes what it names and keeps the rest.
            let patched = try await stack.http("PATCH", "/api/characters/\(id)", json: ["hairColor": "Black", "isFavorite": true], token: token)
            #expect(patched.status == 200, "\(patched.text)")
            let p = try #require(patched.json["character"] as? [String: Any])
            #expect(p["hairColor"] as? String == "Black" && p["occupation"] as? String == "Bard" && p["isFavorite"] as? Bool == true)
            #expect((p["prompt"] as? String)?.contains("Black hair") == true, "a built prompt follows the attributes")
            #expect(p["tags"] as? [String] == ["fantasy", "music"])

            // PUT replaces: what it leaves out is gone.
            let put = try await stack.http("PUT", "/api/characters/\(id)", json: ["name": "Aria II", "styleType": "cartoon"], token: token)
            #expect(put.status == 200, "\(put.text)")
            let r = try #require(put.json["character"] as? [String: Any])
            #expect(r["name"] as? String == "Aria II" && r["occupation"] is NSNull && (r["tags"] as? [String])?.isEmpty == true)
            #expect(r["isPublic"] as? Bool == false && r["styleType"] as? String == "cartoon")

            #expect(try await stack.http("DELETE", "/api/characters/\(id)", token: token).json["success"] as? Bool == true)
            #expect(try await stack.http("GET", "/api/characters/\(id)", token: token).status == 404)
            #expect(try await stack.http("DELETE", "/api/characters/\(id)", token: token).status == 404)
        }
    }

    @Test("bad input is a 400 naming the field, and nothing is written", arguments: TestBackend.available)
    func validation(backend: TestBackend) async throws {
        try await TestStack.with(backend, edge: true) { stack in
            let (token, _) = try await stack.signUp("strict@example.com")
            let cases: [([String: Any], String)] = [
                ([:], "name"),
                (["name": "   "], "name"),
                (["name": String(repeating: "x", count: 101)], "name"),
                (["name": "A", "styleType": "watercolor"], "styleType"),
                (["name": "A", "tags": Array(repeating: "t", count: 1) + (0..<25).map { "tag\($0)" }], "tags"),
                (["name": "A", "referenceImageUrl": "javascript:alert(1)"], "referenceImageUrl"),
                (["name": "A\u{0}B"], "name"),
                (["name": "A", "hairColor": String(repeating: "x", count: 51)], "hairColor"),
                (["name": "A", "personality": [""]], "personality"),
            ]
            for (body, field) in cases {
                let reply = try await stack.http("POST", "/api/characters", json: body, token: token)
                #expect(reply.status == 400, "\(body): \(reply.text)")
                #expect(reply.errorField == field, "\(body): \(reply.text)")
            }
            let unknown = try await stack.http("POST", "/api/characters", json: ["name": "A", "mood": "happy"], token: token)
            #expect(unknown.status == 400 && unknown.errorCode == "UNKNOWN_FIELD")
            #expect(try await stack.http("GET", "/api/characters", token: token).total == 0)
            #expect(try await stack.http("GET", "/api/characters?limit=101", token: token).errorField == "limit")
            #expect(try await stack.http("GET", "/api/characters?sortBy=color", token: token).errorField == "sortBy")
            #expect(try await stack.http("GET", "/api/characters?sortOrder=up", token: token).errorField == "sortOrder")
            #expect(try await stack.http("GET", "/api/characters", token: nil).status == 401)
        }
    }

    @Test("the plan's character cap: Free 1 from the principal, Starter 5, Pro unlimited", arguments: TestBackend.available)
    func cap(backend: TestBackend) async throws {
        try await TestStack.with(backend, edge: true) { stack in
            // Through the edge a new user is on Free: one character.
            let (token, _) = try await stack.signUp("free@example.com")
            _ = try await CatalogFixture.character(stack, token: token, ["name": "Only"])
            let second = try await stack.http("POST", "/api/characters", json: ["name": "Second"], token: token)
            #expect(second.status == 403 && second.errorCode == "CHARACTER_LIMIT_REACHED", "\(second.text)")

            // Starter and Pro, with the entitlements commerce puts in the principal.
            try await stack.withClient(.catalog) { grpc in
                let client = CatalogClient(wrapping: grpc)
                func metadata(_ user: String, _ entitlements: Entitlements?) throws -> Metadata {
                    var metadata = Metadata()
                    metadata.addString(try stack.signer.user(id: user, sessionID: "s", plan: entitlements?.plan ?? "free", roles: ["user"],
                                                             entitlements: entitlements, lifetime: .seconds(300)),
                                       forKey: PrincipalInterceptor.metadataKey)
                    return metadata
                }
                let starter = try metadata("user_starter", .with { $0.plan = "starter"; $0.maxCharacters = 5 })
                // Five at once: the cap holds under concurrency too.
                let results = await withTaskGroup(of: Bool.self) { group in
                    for index in 0..<8 {
                        group.addTask {
                            (try? await client.createCharacter(.with { $0.character = .with { $0.name = "S\(index)" } }, metadata: starter)) != nil
                        }
                    }
                    return await group.reduce(into: [Bool]()) { $0.append($1) }
                }
                #expect(results.filter { $0 }.count == 5)
                let pro = try metadata("user_pro", .with { $0.plan = "pro"; $0.unlimitedCharacters = true })
                for index in 0..<7 {
                    _ = try await client.createCharacter(.with { $0.character = .with { $0.name = "P\(index)" } }, metadata: pro)
                }
                // No entitlements at all: Free.
                let bare = try metadata("user_bare", nil)
                _ = try await client.createCharacter(.with { $0.character = .with { $0.name = "B" } }, metadata: bare)
                await #expect(throws: RPCError.self) {
                    try await client.createCharacter(.with { $0.character = .with { $0.name = "B2" } }, metadata: bare)
                }
            }
            // Deleting frees the slot.
            let list = try await stack.http("GET", "/api/characters", token: token)
            let id = try #require(list.list("characters").first?["id"] as? String)
            _ = try await stack.http("DELETE", "/api/characters/\(id)", token: token)
            #expect(try await stack.http("POST", "/api/characters", json: ["name": "Again"], token: token).status == 201)
        }
    }

    @Test("list: search, tag, style and favourite filters, sorting, pages; explore; gallery counts", arguments: TestBackend.available)
    func listing(backend: TestBackend) async throws {
        try await TestStack.with(backend, edge: true) { stack in
            let (token, userID) = try await stack.signUp("lister@example.com")
            let (other, _) = try await stack.signUp("neighbour@example.com")
            // Pro, so the cap does not get in the way: the catalog reads the plan from the principal.
            var ids: [String] = []
            try await stack.withClient(.catalog) { grpc in
                let client = CatalogClient(wrapping: grpc)
                var metadata = Metadata()
                metadata.addString(try stack.signer.user(id: userID, sessionID: "s", plan: "pro", roles: ["user"],
                                                         entitlements: .with { $0.plan = "pro"; $0.unlimitedCharacters = true },
                                                         lifetime: .seconds(300)), forKey: PrincipalInterceptor.metadataKey)
                let specs: [(String, String, [String], Bool, Bool, String)] = [
                    ("Zelda", "A brave princess", ["royal", "fantasy"], true, true, "fantasy"),
                    ("Milo", "A cheerful baker", ["food"], false, false, "cartoon"),
                    ("Nova", "Pilot of the stars", ["space", "fantasy"], true, false, "cyberpunk"),
                    ("Ada", "Mathematician 100% focused", ["history"], false, true, "realistic"),
                ]
                for (name, description, tags, isPublic, favorite, style) in specs {
                    let reply = try await client.createCharacter(.with { $0.character = .with {
                        $0.name = name
                        $0.description_p = description
                        $0.tags = tags
                        $0.isPublic = isPublic
                        $0.isFavorite = favorite
                        $0.styleType = style
                    } }, metadata: metadata)
                    ids.append(reply.character.id)
                    try await Task.sleep(for: .milliseconds(5))
                }
            }
            func names(_ query: String, _ token: String = token) async throws -> [String] {
                let reply = try await stack.http("GET", "/api/characters\(query)", token: token)
                #expect(reply.status == 200, "\(query): \(reply.text)")
                return reply.list("characters").compactMap { $0["name"] as? String }
            }
            #expect(try await names("") == ["Ada", "Nova", "Milo", "Zelda"])
            #expect(try await names("?sortBy=name&sortOrder=asc") == ["Ada", "Milo", "Nova", "Zelda"])
            #expect(try await names("?q=BRAVE") == ["Zelda"])
            #expect(try await names("?q=space") == ["Nova"], "tags are searched")
            #expect(try await names("?q=100%25") == ["Ada"], "a % in the query is a character, not a wildcard")
            #expect(try await names("?q=_") == [])
            #expect(try await names("?tag=fantasy") == ["Nova", "Zelda"])
            #expect(try await names("?tag=fantasy&tag=royal") == ["Zelda"])
            #expect(try await names("?styleType=cartoon") == ["Milo"])
            #expect(try await names("?isFavorite=true") == ["Ada", "Zelda"])
            #expect(try await names("?limit=2&offset=1") == ["Nova", "Milo"])
            let page = try await stack.http("GET", "/api/characters?limit=2&offset=1", token: token)
            #expect(page.json["pagination"] as? [String: Int] == ["total": 4, "limit": 2, "offset": 1])
            #expect(try await names("", other) == [], "another user sees none of them")

            // Explore: everyone's public characters, also without signing in.
            let explore = try await stack.http("GET", "/api/explore")
            #expect(explore.status == 200, "\(explore.text)")
            #expect(explore.list("characters").compactMap { $0["name"] as? String } == ["Nova", "Zelda"])
            #expect(explore.total == 2)
            let fantasy = try await stack.http("GET", "/api/explore?styleType=fantasy")
            #expect(fantasy.list("characters").compactMap { $0["name"] as? String } == ["Zelda"] && fantasy.total == 1)
            // Turning one private leaves explore and its count.
            _ = try await stack.http("PATCH", "/api/characters/\(ids[2])", json: ["isPublic": false], token: token)
            #expect(try await stack.http("GET", "/api/explore").total == 1)

            // Gallery counts follow attached and deleted media.
            _ = try await CatalogFixture.attachMedia(stack, user: userID, character: ids[0])
            _ = try await CatalogFixture.attachMedia(stack, user: userID, character: ids[0])
            let video = try await CatalogFixture.attachMedia(stack, user: userID, character: ids[0], type: "video")
            var zelda = try await stack.http("GET", "/api/characters/\(ids[0])", token: token).json["character"] as? [String: Any]
            #expect(zelda?["imageCount"] as? Int == 2 && zelda?["videoCount"] as? Int == 1)
            #expect(zelda?["generationStatus"] as? String == "completed" && zelda?["imageUrl"] is String)
            _ = try await stack.http("DELETE", "/api/media/\(video.id)", token: token)
            zelda = try await stack.http("GET", "/api/characters/\(ids[0])", token: token).json["character"] as? [String: Any]
            #expect(zelda?["videoCount"] as? Int == 0)
        }
    }
}
