import AtelierTestSupport
import Foundation
import ServiceKit
import Testing

/// Generation as a new user meets it, offline with the local provider, over HTTP: images of a
/// character charged exactly, a request beyond the balance refused with nothing created, a video
/// once subscribed, a variant from an edit prompt, and cancels that give the credits back.
@Suite("Images and videos of a character, money first")
struct ImageVideoFlowTests {
    static func job(_ reply: HTTPReply) -> [String: Any] { reply.json["job"] as? [String: Any] ?? [:] }

    /// Polls the job until it ends (or 30 s pass) and returns it.
    static func finished(_ stack: TestStack, _ id: String, token: String) async throws -> [String: Any] {
        let deadline = ContinuousClock.now + .seconds(30)
        while ContinuousClock.now < deadline {
            let job = Self.job(try await stack.http("GET", "/api/generate/status/\(id)", token: token))
            if let status = job["status"] as? String, ["succeeded", "failed", "canceled"].contains(status) { return job }
            try await Task.sleep(for: .milliseconds(100))
        }
        Issue.record("job \(id) did not finish")
        return [:]
    }

    static func balance(_ stack: TestStack, token: String) async throws -> (credits: Int, images: Int) {
        let wallet = try await stack.http("GET", "/api/wallet", token: token)
        let images = (wallet.json["balances"] as? [[String: Any]])?.first { $0["asset"] as? String == "images" }?["available"] as? Int
        return (wallet.json["credits"] as? Int ?? -1, images ?? 0)
    }

    /// Opens the sandbox checkout page a reply points at and pays.
    static func pay(_ stack: TestStack, _ checkout: HTTPReply) async throws {
        let link = try #require(checkout.json["checkoutUrl"] as? String, "\(checkout.text)")
        let url = try #require(URL(string: link))
        let done = try await stack.http("POST", url.path, rawBody: Data("action=pay".utf8),
                                        headers: ["Content-Type": "application/x-www-form-urlencoded"])
        #expect(done.status == 200, "\(done.text)")
    }

    @Test("4 images arrive in the gallery for exactly 4 units; beyond the balance nothing is made; Starter makes a video",
          arguments: TestBackend.available)
    func imagesThenVideo(backend: TestBackend) async throws {
        try await TestStack.with(backend, edge: true) { stack in
            let (token, _) = try await stack.signUp("maker@example.com")
            let created = try await stack.http("POST", "/api/characters", json: [
                "name": "Aria", "hairColor": "auburn", "eyeColor": "green", "skinTone": "fair",
            ], token: token)
            let character = try #require((created.json["character"] as? [String: Any])?["id"] as? String, "\(created.text)")
            #expect(try await Self.balance(stack, token: token) == (3, 3))

            let submit = try await stack.http("POST", "/api/generate/image", json: ["characterId": character, "count": 4, "pose": "waving"],
                                              token: token, headers: ["Idempotency-Key": "first-four"])
            #expect(submit.status == 202, "\(submit.text)")
            let id = try #require(Self.job(submit)["id"] as? String)
            #expect(Self.job(submit)["status"] as? String == "queued")
            #expect(Self.job(submit)["cost"] as? Int == 4)

            let done = try await Self.finished(stack, id, token: token)
            #expect(done["status"] as? String == "succeeded", "\(done)")
            #expect(done["charge"] as? String == "settled")
            #expect((done["mediaIds"] as? [String])?.count == 4)
            // Free's three image generations of the month and one credit: exactly four units.
            #expect(try await Self.balance(stack, token: token) == (2, 0))

            let gallery = try await stack.http("GET", "/api/media?characterId=\(character)", token: token)
            let media = gallery.list("media")
            #expect(media.count == 4, "\(gallery.text)")
            #expect(media.allSatisfy { $0["type"] as? String == "image" && $0["watermarked"] as? Bool == true })
            let first = try #require(media.first?["url"] as? String)
            let firstURL = try #require(URL(string: first))
            let file = try await stack.http("GET", firstURL.path)
            #expect(file.status == 200 && file.body.prefix(8) == Data([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]))
            let urls = Set(media.compactMap { $0["url"] as? String })
            #expect(urls.count == 4)
            // The first image became the character's picture.
            let picture = try await stack.http("GET", "/api/characters/\(character)", token: token)
            #expect(urls.contains((picture.json["character"] as? [String: Any])?["imageUrl"] as? String ?? ""))

            // A finished job replays its numbered events as Server-Sent Events and the stream ends.
            let stream = try await stack.http("GET", "/api/jobs/\(id)/events", token: token)
            #expect(stream.status == 200 && stream.header("Content-Type") == "text/event-stream", "\(stream.text)")
            let ids = stream.text.split(separator: "\n").filter { $0.hasPrefix("id: ") }.compactMap { Int($0.dropFirst(4)) }
            #expect(ids == Array(1...ids.count) && ids.count >= 7, "queued, running, 4 progress, succeeded: \(stream.text)")
            #expect(stream.text.hasPrefix("id: 1\nevent: queued\n") && stream.text.contains("event: succeeded"))
            let resumed = try await stack.http("GET", "/api/jobs/\(id)/events", token: token, headers: ["Last-Event-ID": String(ids.count - 1)])
            #expect(resumed.text.split(separator: "\n").filter { $0.hasPrefix("id: ") } == ["id: \(ids.count)"], "\(resumed.text)")
            let (stranger, _) = try await stack.signUp("stranger@example.com")
            #expect(try await stack.http("GET", "/api/jobs/\(id)/events", token: stranger).status == 404)
            #expect(try await stack.http("GET", "/api/jobs/\(id)", token: stranger).status == 404)
            // Another user's character, a missing one, or an id that cannot be one: not found, and
            // nothing is queued for it.
            for target in [character, "chr_missing", "not an id!"] {
                let refused = try await stack.http("POST", "/api/generate/image", json: ["characterId": target], token: stranger)
                #expect(refused.status == 404 && refused.errorCode == "NOT_FOUND", "\(refused.text)")
            }
            #expect(try await stack.http("GET", "/api/jobs", token: stranger).total == 0)

            // The same key answers with the same job, and charges nothing more.
            let again = try await stack.http("POST", "/api/generate/image", json: ["characterId": character, "count": 4, "pose": "waving"],
                                             token: token, headers: ["Idempotency-Key": "first-four"])
            #expect(Self.job(again)["id"] as? String == id, "\(again.text)")

            // Two credits left: four more are refused and nothing is queued or held.
            let beyond = try await stack.http("POST", "/api/generate/image", json: ["characterId": character, "count": 4], token: token)
            #expect(beyond.status == 400 && beyond.errorCode == "INSUFFICIENT_CREDITS", "\(beyond.text)")
            #expect(try await stack.http("GET", "/api/jobs", token: token).total == 1)
            #expect(try await Self.balance(stack, token: token) == (2, 0))

            // Free has no video.
            let mediaID = try #require(media.first?["id"] as? String)
            let refused = try await stack.http("POST", "/api/generate/video", json: ["mediaId": mediaID, "durationSeconds": 4], token: token)
            #expect(refused.status == 403 && refused.errorCode == "PLAN_REQUIRED", "\(refused.text)")

            try await Self.pay(stack, try await stack.http("POST", "/api/payments/create-subscription", json: ["planId": "starter"], token: token))
            // A new session carries the new plan.
            let login = try await stack.http("POST", "/api/auth/login", json: ["email": "maker@example.com", "password": "Quiet-River-42"])
            let starter = try #require((login.json["session"] as? [String: Any])?["token"] as? String, "\(login.text)")
            let video = try await stack.http("POST", "/api/generate/video", json: ["mediaId": mediaID, "durationSeconds": 4], token: starter)
            #expect(video.status == 202, "\(video.text)")
            let videoJob = try await Self.finished(stack, try #require(Self.job(video)["id"] as? String), token: starter)
            #expect(videoJob["status"] as? String == "succeeded", "\(videoJob)")
            let videos = try await stack.http("GET", "/api/media?characterId=\(character)&type=video", token: starter).list("media")
            #expect(videos.count == 1)
            #expect(videos.first?["durationSeconds"] as? Double == 4)
            #expect(videos.first?["thumbnailUrl"] as? String != nil)
            #expect(try await stack.http("GET", "/api/jobs?kind=video", token: starter).total == 1)
            #expect(try await stack.http("GET", "/api/jobs?kind=song", token: starter).errorField == "kind")

            // A variant from an edit prompt, in a theme of the character.
            let theme = try await stack.http("POST", "/api/characters/\(character)/themes", json: ["name": "Moods"], token: starter)
            let themeID = try #require((theme.json["theme"] as? [String: Any])?["id"] as? String, "\(theme.text)")
            let edit = try await stack.http("POST", "/api/themes/\(themeID)/variants/generate", json: ["edit": "make them smile"], token: starter)
            #expect(edit.status == 202, "\(edit.text)")
            let editJob = try await Self.finished(stack, try #require(Self.job(edit)["id"] as? String), token: starter)
            #expect(editJob["status"] as? String == "succeeded", "\(editJob)")
            let variants = try await stack.http("GET", "/api/themes/\(themeID)/variants", token: starter).list("variants")
            #expect(variants.first?["prompt"] as? String == "make them smile" && variants.first?["imageUrl"] is String, "\(variants)")
        }
    }

    @Test("the events of a running job arrive over SSE as they happen, and the stream ends with the job", arguments: TestBackend.available)
    func liveEvents(backend: TestBackend) async throws {
        try await TestStack.with(backend, edge: true, overrides: ["generation.local.delay-ms": "400"]) { stack in
            let (token, _) = try await stack.signUp("watcher@example.com")
            let created = try await stack.http("POST", "/api/characters", json: ["name": "Wren"], token: token)
            let character = try #require((created.json["character"] as? [String: Any])?["id"] as? String)
            let submit = try await stack.http("POST", "/api/generate/image", json: ["characterId": character, "count": 2], token: token)
            let id = try #require(Self.job(submit)["id"] as? String)
            // Opened while the job is queued: the stream stays open while the pictures are drawn.
            let opened = ContinuousClock.now
            let stream = try await stack.http("GET", "/api/jobs/\(id)/events", token: token)
            let open = ContinuousClock.now - opened
            let types = stream.text.split(separator: "\n").filter { $0.hasPrefix("event: ") }.map { $0.dropFirst(7) }
            #expect(types.first == "queued" && types.last == "succeeded", "\(stream.text)")
            #expect(types.filter { $0 == "progress" }.count == 2, "\(stream.text)")
            #expect(open >= .milliseconds(700), "it waited for the two 400 ms pictures: \(open)")
        }
    }

    @Test("a queued job cancels at once and a running one at its next step; both give their credits back",
          arguments: TestBackend.available)
    func cancels(backend: TestBackend) async throws {
        try await TestStack.with(backend, edge: true, overrides: ["generation.workers": "1", "generation.local.delay-ms": "1500"]) { stack in
            let (token, userID) = try await stack.signUp("canceller@example.com")
            let created = try await stack.http("POST", "/api/characters", json: ["name": "Bo"], token: token)
            let character = try #require((created.json["character"] as? [String: Any])?["id"] as? String)
            let running = Self.job(try await stack.http("POST", "/api/generate/image", json: ["characterId": character, "count": 2], token: token))
            let queued = Self.job(try await stack.http("POST", "/api/generate/image", json: ["characterId": character], token: token))
            let runningID = try #require(running["id"] as? String), queuedID = try #require(queued["id"] as? String)
            #expect(try await Self.balance(stack, token: token) == (3, 0))

            // One worker: the second job waits; cancelling it ends it at once.
            let cancel = try await stack.http("POST", "/api/jobs/\(queuedID)/cancel", token: token)
            #expect(Self.job(cancel)["status"] as? String == "canceled", "\(cancel.text)")
            #expect(try await Self.balance(stack, token: token) == (3, 1))

            // Wait until the first runs, then cancel it: it ends at its next step.
            let deadline = ContinuousClock.now + .seconds(10)
            while ContinuousClock.now < deadline,
                  Self.job(try await stack.http("GET", "/api/jobs/\(runningID)", token: token))["status"] as? String != "running" {
                try await Task.sleep(for: .milliseconds(50))
            }
            _ = try await stack.http("POST", "/api/jobs/\(runningID)/cancel", token: token)
            let ended = try await Self.finished(stack, runningID, token: token)
            #expect(ended["status"] as? String == "canceled", "\(ended)")
            #expect(ended["charge"] as? String == "released")
            #expect(try await Self.balance(stack, token: token) == (3, 3))
            #expect(try await stack.http("GET", "/api/jobs?status=canceled", token: token).total == 2)
            #expect(try await stack.http("GET", "/api/jobs/job_nope", token: token).status == 404)

            // Deleting the account purges its jobs and their events.
            let deleted = try await stack.http("DELETE", "/api/user/account", json: ["password": "Quiet-River-42"], token: token)
            #expect(deleted.status == 200, "\(deleted.text)")
            #expect(try await stack.database(.generation).count("SELECT COUNT(*) AS n FROM jobs WHERE user_id = \(userID)") == 0)
            #expect(try await stack.database(.generation).count("SELECT COUNT(*) AS n FROM job_events WHERE job_id = \(runningID)") == 0)
        }
    }
}

extension HTTPReply {
    var total: Int? { (json["pagination"] as? [String: Any])?["total"] as? Int }
}
