import AtelierTestSupport
import Foundation
import ServiceKit
import Testing
@testable import GenerationService

/// Jobs through the real adapters, each against its fake, over HTTP: pictures from Replicate
/// (a 429 first, whose hint the retry waits for; the finished prediction arriving by its signed
/// webhook, twice, applied once), the Free plan's mark drawn on Replicate's picture, a video from
/// Stable Video Diffusion, and a styling edit through Gemini.
@Suite("Jobs through Replicate and Gemini")
struct ProviderJobTests {
    typealias Flow = ImageVideoFlowTests

    @Test("Replicate images (throttled once, finished by webhook), a Replicate video, a Gemini edit", arguments: TestBackend.available)
    func throughProviders(backend: TestBackend) async throws {
        let replicate = await FakeReplicate.start()
        let gemini = await FakeGemini.start()
        do {
            try await run(backend, replicate, gemini)
        } catch {
            Issue.record(error)
        }
        await replicate.stop()
        await gemini.stop()
    }

    private func run(_ backend: TestBackend, _ replicate: FakeReplicate, _ gemini: FakeGemini) async throws {
        try await TestStack.with(backend, edge: true, overrides: [
            "generation.replicate.token": FakeReplicate.token, "generation.replicate.base-url": replicate.baseURL,
            "generation.replicate.image-version": "stability-ai/sdxl:test", "generation.replicate.lora-url": "https://example.com/lora.tar",
            // The host is a placeholder: the fake delivers to the edge this test started.
            "generation.replicate.webhook-url": "https://atelier.example/api/webhooks/replicate",
            "generation.replicate.webhook-secret": FakeReplicate.webhookSecret, "generation.replicate.poll-ms": "50",
            "generation.gemini.key": FakeGemini.key, "generation.gemini.base-url": gemini.baseURL, "generation.backoff-ms": "100",
        ]) { stack in
            replicate.deliverWebhooks(toPort: try #require(stack.edgePort))
            // Polls alone would take 20 (one in ten asks the API while a webhook is awaited); the webhook comes first.
            replicate.state.pollsBeforeDone.withLock { $0 = 20 }
            replicate.state.webhookFinishAfter.withLock { $0 = .milliseconds(300) }
            replicate.state.throttleSeconds.withLock { $0 = 1 }
            let (token, _) = try await stack.signUp("remote@example.com")
            let created = try await stack.http("POST", "/api/characters", json: ["name": "Ivy"], token: token)
            let character = try #require((created.json["character"] as? [String: Any])?["id"] as? String, "\(created.text)")

            replicate.failNext(.throttled)
            let submit = try await stack.http("POST", "/api/generate/image", json: ["characterId": character, "count": 2], token: token)
            #expect(submit.status == 202, "\(submit.text)")
            let id = try #require(Flow.job(submit)["id"] as? String)
            let done = try await Flow.finished(stack, id, token: token)
            #expect(done["status"] as? String == "succeeded", "\(done)")
            #expect(done["attempts"] as? Int == 2, "the 429 cost one attempt")

            // The retry waited at least the second Replicate asked for.
            let events = try await stack.http("GET", "/api/jobs/\(id)/events", token: token).text
            #expect(events.contains("event: retrying") && events.contains("limiting our requests"), "\(events)")
            let rows = try await stack.database(.generation).query("SELECT type, created_at FROM job_events WHERE job_id = \(id) ORDER BY sequence")
            let times = try rows.map { (try $0.string("type"), try $0.int("created_at")) }
            let retried = try #require(times.firstIndex { $0.0 == "retrying" })
            let rerun = try #require(times[retried...].first { $0.0 == "running" })
            #expect(rerun.1 - times[retried].1 >= 1_000_000, "\(times)")

            // Created with the webhook; the finished prediction came by webhook twice, applied once.
            let creates = replicate.calls.filter { $0.method == "POST" && $0.path == "/v1/predictions" }
            #expect(creates.last?.body["webhook"] as? String == "https://atelier.example/api/webhooks/replicate")
            #expect(replicate.deliveries.map(\.status) == [200, 200])
            #expect(replicate.deliveries.map(\.duplicate) == [false, true])
            let recorded = try await stack.database(.generation).count("SELECT COUNT(*) AS n FROM provider_webhooks")
            #expect(recorded == 1)
            // The 429 came before a prediction was made: there is one.
            let predictions = replicate.state.predictions.withLock { Array($0.keys) }
            #expect(predictions.count == 1)
            let finished = try #require(predictions.first)
            let gets = replicate.calls.filter { $0.method == "GET" && $0.path == "/v1/predictions/\(finished)" }
            #expect(gets.count <= 1, "the worker learnt of the end from the webhook, not by polling: \(gets.count) polls")

            let media = try await stack.http("GET", "/api/media?characterId=\(character)", token: token).list("media")
            #expect(media.count == 2)
            #expect(media.allSatisfy { ($0["generationParams"] as? [String: Any])?["provider"] as? String == "replicate" })
            #expect(media.allSatisfy { $0["watermarked"] as? Bool == true })
            // Free's mark is drawn on Replicate's picture: the gallery copy is a PNG other than the provider's.
            let firstLink = try #require(media.first?["url"] as? String)
            let firstURL = try #require(URL(string: firstLink))
            let shown = Array(try await stack.http("GET", firstURL.path).body)
            let decoded = try PNGDecoder.decode(shown)
            #expect(decoded.width == 64 && decoded.height == 80)
            let originalPath = "\(BaseAndVariantTests.blobsDirectory(stack))/\(GeneratedFiles.originals)/\(id.lowercased())-0.png"
            let original = try PNGDecoder.decode(Array(try Data(contentsOf: URL(fileURLWithPath: originalPath))))
            #expect(original.width == decoded.width && original.rgb != decoded.rgb, "the unmarked picture is kept, and differs")

            // A forged webhook is refused, naming the signature.
            let forged = try await stack.http("POST", "/api/webhooks/replicate", rawBody: Data(#"{"id":"p1","status":"succeeded"}"#.utf8), headers: [
                "Content-Type": "application/json", "webhook-id": "msg_forged", "webhook-timestamp": String(Int(Date().timeIntervalSince1970)),
                "webhook-signature": "v1,AAAA",
            ])
            #expect(forged.status == 400 && forged.errorCode == "WEBHOOK_SIGNATURE_INVALID", "\(forged.text)")

            // Starter: a video from the first picture, through Stable Video Diffusion.
            try await Flow.pay(stack, try await stack.http("POST", "/api/payments/create-subscription", json: ["planId": "starter"], token: token))
            let login = try await stack.http("POST", "/api/auth/login", json: ["email": "remote@example.com", "password": "Quiet-River-42"])
            let starter = try #require((login.json["session"] as? [String: Any])?["token"] as? String)
            let mediaID = try #require(media.first?["id"] as? String)
            let video = try await stack.http("POST", "/api/generate/video", json: ["mediaId": mediaID, "durationSeconds": 4], token: starter)
            let videoJob = try await Flow.finished(stack, try #require(Flow.job(video)["id"] as? String), token: starter)
            #expect(videoJob["status"] as? String == "succeeded", "\(videoJob)")
            let videos = try await stack.http("GET", "/api/media?characterId=\(character)&type=video", token: starter).list("media")
            #expect(videos.first?["durationSeconds"] as? Double == 4.2, "the length read from the MP4")
            #expect(videos.first?["thumbnailUrl"] is String)
            let svd = replicate.calls.last { $0.method == "POST" && $0.path == "/v1/predictions" }
            #expect((svd?.body["input"] as? String)?.contains("data:image/png;base64,") == true)

            // A styling edit through Gemini: the instruction and the picture, as inline data.
            let theme = try await stack.http("POST", "/api/characters/\(character)/themes", json: ["name": "Moods"], token: starter)
            let themeID = try #require((theme.json["theme"] as? [String: Any])?["id"] as? String, "\(theme.text)")
            let edit = try await stack.http("POST", "/api/themes/\(themeID)/variants/generate", json: ["edit": "make them smile", "mediaId": mediaID],
                                            token: starter)
            let editJob = try await Flow.finished(stack, try #require(Flow.job(edit)["id"] as? String), token: starter)
            #expect(editJob["status"] as? String == "succeeded", "\(editJob)")
            #expect(gemini.calls.last?.parts == ["text", "image/png"])
            #expect(gemini.calls.last?.texts.first?.contains("make them smile") == true)
            let variants = try await stack.http("GET", "/api/themes/\(themeID)/variants", token: starter).list("variants")
            #expect(variants.count == 1)
        }
    }
}
