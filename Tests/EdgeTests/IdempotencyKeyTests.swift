import AtelierTestSupport
@testable import Edge
import Foundation
import Testing

@Suite("Idempotency-Key on signed-in POSTs")
struct IdempotencyKeyTests {
    static var hero: [String: Any] { ["name": "Alice", "age": 7, "traits": ["brave"], "appearance": "Curly hair"] }

    @Test("a retry with the same key replays the first reply and creates nothing more", arguments: TestBackend.available)
    func replay(backend: TestBackend) async throws {
        try await TestStack.with(backend, edge: true) { stack in
            let (token, _) = try await stack.signUp("retry@example.com")
            let key = ["Idempotency-Key": "hero-create-0001"]
            let first = try await stack.http("POST", "/api/heroes", json: Self.hero, token: token, headers: key)
            #expect(first.status == 201, "\(first.text)")
            #expect(first.header("Idempotent-Replayed") == nil)
            let again = try await stack.http("POST", "/api/heroes", json: Self.hero, token: token, headers: key)
            #expect(again.status == 201 && again.body == first.body, "\(again.text)")
            #expect(again.header("Idempotent-Replayed") == "true")
            #expect(try await stack.http("GET", "/api/heroes", token: token).list("heroes").count == 1)

            // The key names that request: another body, or another route, with it is refused.
            var renamed = Self.hero
            renamed["name"] = "Bob"
            let reused = try await stack.http("POST", "/api/heroes", json: renamed, token: token, headers: key)
            #expect(reused.status == 409 && reused.errorCode == "IDEMPOTENCY_KEY_REUSED" && reused.errorField == "Idempotency-Key",
                    "\(reused.text)")
            let elsewhere = try await stack.http("POST", "/api/collections", json: ["name": "Favourites"], token: token, headers: key)
            #expect(elsewhere.status == 409 && elsewhere.errorCode == "IDEMPOTENCY_KEY_REUSED", "\(elsewhere.text)")

            // Without a key, the same body makes a second hero, as before.
            #expect(try await stack.http("POST", "/api/heroes", json: Self.hero, token: token).status == 201)
            #expect(try await stack.http("GET", "/api/heroes", token: token).list("heroes").count == 2)

            // Keys belong to their user: another user's same key is a request of its own.
            let (other, _) = try await stack.signUp("other@example.com")
            let theirs = try await stack.http("POST", "/api/heroes", json: Self.hero, token: other, headers: key)
            #expect(theirs.status == 201 && theirs.header("Idempotent-Replayed") == nil, "\(theirs.text)")
            #expect(theirs.body != first.body)

            // The plan's one character: a retried create replays instead of hitting the cap.
            let character: [String: Any] = ["name": "Nova", "prompt": "a portrait of Nova", "styleType": "anime"]
            let made = try await stack.http("POST", "/api/characters", json: character, token: token, headers: ["Idempotency-Key": "nova"])
            #expect(made.status == 201, "\(made.text)")
            let retried = try await stack.http("POST", "/api/characters", json: character, token: token, headers: ["Idempotency-Key": "nova"])
            #expect(retried.status == 201 && retried.body == made.body, "\(retried.text)")
            let capped = try await stack.http("POST", "/api/characters", json: character, token: token, headers: ["Idempotency-Key": "nova-2"])
            #expect(capped.status == 403 && capped.errorCode == "CHARACTER_LIMIT_REACHED", "\(capped.text)")
        }
    }

    @Test("a failed request keeps nothing, and a bad key is a 400 that names the header", arguments: [TestBackend.sqlite])
    func failuresAndBadKeys(backend: TestBackend) async throws {
        try await TestStack.with(backend, edge: true) { stack in
            let (token, _) = try await stack.signUp("failing@example.com")
            var invalid = Self.hero
            invalid["age"] = 40
            let refused = try await stack.http("POST", "/api/heroes", json: invalid, token: token, headers: ["Idempotency-Key": "k1"])
            #expect(refused.status == 400 && refused.errorField == "age", "\(refused.text)")
            // The corrected request may use the same key: the failure was not kept.
            let corrected = try await stack.http("POST", "/api/heroes", json: Self.hero, token: token, headers: ["Idempotency-Key": "k1"])
            #expect(corrected.status == 201 && corrected.header("Idempotent-Replayed") == nil, "\(corrected.text)")

            for bad in [String(repeating: "k", count: 256), "two words", "naïve"] {
                let reply = try await stack.http("POST", "/api/heroes", json: Self.hero, token: token, headers: ["Idempotency-Key": bad])
                #expect(reply.status == 400 && reply.errorField == "Idempotency-Key", "\(bad): \(reply.text)")
            }
            #expect(try await stack.http("GET", "/api/heroes", token: token).list("heroes").count == 1)

            let document = try await stack.http("GET", "/openapi.json").json
            let post = ((document["paths"] as? [String: Any])?["/api/heroes"] as? [String: Any])?["post"] as? [String: Any]
            let names = (post?["parameters"] as? [[String: Any]])?.compactMap { $0["name"] as? String }
            #expect(names == ["Idempotency-Key"])
        }
    }

    @Test("concurrent requests with one key create one hero", arguments: TestBackend.available)
    func concurrent(backend: TestBackend) async throws {
        try await TestStack.with(backend, edge: true) { stack in
            let (token, _) = try await stack.signUp("racing@example.com")
            let replies = try await withThrowingTaskGroup(of: HTTPReply.self) { group in
                for _ in 0..<8 {
                    group.addTask {
                        try await stack.http("POST", "/api/heroes", json: Self.hero, token: token, headers: ["Idempotency-Key": "race"])
                    }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            let created = replies.filter { $0.status == 201 }
            #expect(!created.isEmpty && Set(created.map(\.body)).count == 1)
            for reply in replies where reply.status != 201 {
                #expect(reply.status == 409 && reply.errorCode == "IDEMPOTENCY_KEY_IN_USE" && reply.header("Retry-After") == "1",
                        "\(reply.text)")
            }
            #expect(try await stack.http("GET", "/api/heroes", token: token).list("heroes").count == 1)
        }
    }

    @Test("the window forgets keys after their lifetime, oldest first when full, and frees stale claims")
    func window() throws {
        let start = ContinuousClock.now
        let window = IdempotencyWindow(lifetime: .seconds(60), maxBytes: 400, staleAfter: .seconds(5))
        let request: [UInt8] = Array("CreateHero\u{0}alice".utf8)
        guard case .run(let ticket) = try window.claim(key: "a", user: "u1", request: request, now: start) else {
            Issue.record("a new key runs")
            return
        }
        #expect(throws: EdgeError.self) { try window.claim(key: "a", user: "u1", request: request, now: start) }
        window.finish(ticket, with: .init(status: 201, body: Array(repeating: 1, count: 90)), now: start)
        #expect(try window.claim(key: "a", user: "u1", request: request, now: start + .seconds(59))
                == .replay(.init(status: 201, body: Array(repeating: 1, count: 90))))
        guard case .run = try window.claim(key: "a", user: "u1", request: request, now: start + .seconds(61)) else {
            Issue.record("an expired key runs again")
            return
        }

        // A claim whose request never finished frees its key once stale.
        guard case .run = try window.claim(key: "lost", user: "u1", request: request, now: start) else { return }
        guard case .run = try window.claim(key: "lost", user: "u1", request: request, now: start + .seconds(6)) else {
            Issue.record("a stale claim is free again")
            return
        }

        // Past maxBytes the oldest replies go first.
        for key in ["k1", "k2", "k3", "k4", "k5"] {
            guard case .run(let ticket) = try window.claim(key: key, user: "u2", request: request, now: start) else { return }
            window.finish(ticket, with: .init(status: 201, body: Array(repeating: 2, count: 90)), now: start)
        }
        guard case .run = try window.claim(key: "k1", user: "u2", request: request, now: start) else {
            Issue.record("the oldest reply was evicted")
            return
        }
        guard case .replay = try window.claim(key: "k5", user: "u2", request: request, now: start) else {
            Issue.record("the newest reply is kept")
            return
        }
    }
}
