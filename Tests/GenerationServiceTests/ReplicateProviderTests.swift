import Foundation
import Synchronization
import Testing
@testable import GenerationService

/// The Replicate adapter against its fake: the requests it makes (method, path, bearer token,
/// version and input), polling to the end, copying the outputs, cancelling at the provider, the
/// webhook's signature, and every failure a provider has.
@Suite("Replicate adapter")
struct ReplicateProviderTests {
    static let lora = "https://replicate.delivery/weights/aria-lora.tar"

    static func provider(_ fake: FakeReplicate, token: String = FakeReplicate.token, timeout: Duration = .seconds(10)) -> ReplicateProvider {
        var settings = ReplicateProvider.Settings(token: token)
        settings.baseURL = URL(string: fake.baseURL)!
        settings.imageVersion = "stability-ai/sdxl:abc123"
        settings.loraURL = lora
        settings.poll = .milliseconds(20)
        settings.maxWait = .seconds(20)
        return ReplicateProvider(settings: settings, timeout: timeout, inbox: nil)
    }

    static func request(count: Int = 2) -> ImageRequest {
        ImageRequest(prompt: "Aria, auburn hair, waving", seed: 42, count: count, palette: Palette(skin: nil, hair: nil, eyes: nil, clothing: nil), steps: 35, control: .detached())
    }

    @Test("images: a prediction for SDXL with the LoRA, polled until it succeeds, its outputs copied")
    func images() async throws {
        let fake = await FakeReplicate.start()
        defer { Task { await fake.stop() } }
        let files = try await Self.provider(fake).images(Self.request())
        #expect(files.count == 2)
        #expect(files.allSatisfy { PNGDecoder.isPNG($0.bytes) && $0.width == 64 && $0.height == 80 && $0.contentType == "image/png" })

        let calls = fake.calls
        let create = try #require(calls.first)
        #expect(create.method == "POST" && create.path == "/v1/predictions")
        #expect(create.authorization == "Bearer \(FakeReplicate.token)")
        #expect(create.body["version"] as? String == "stability-ai/sdxl:abc123")
        let input = try #require(create.body["input"] as? String)
        for expected in ["Aria, auburn hair, waving", "\"num_outputs\": 2", "\"seed\": 42", "replicate_weights", Self.lora, "\"num_inference_steps\": 35"] {
            #expect(input.contains(expected), "input lacks \(expected): \(input)")
        }
        // Polled with GET until it finished (the fake finishes on the second poll).
        let polls = calls.dropFirst().filter { $0.method == "GET" && $0.path.hasPrefix("/v1/predictions/") }
        #expect(polls.count == 2)
        #expect(polls.allSatisfy { $0.authorization == "Bearer \(FakeReplicate.token)" })
    }

    @Test("video: Stable Video Diffusion from the image as a data URI; the real duration is read from the MP4")
    func video() async throws {
        let fake = await FakeReplicate.start()
        defer { Task { await fake.stop() } }
        let source = SourceImage(bytes: FakeFiles.png(seed: 3), contentType: "image/png")
        let file = try await Self.provider(fake).video(VideoRequest(prompt: "Aria", seed: 1, durationSeconds: 4, palette: Palette(skin: nil, hair: nil, eyes: nil, clothing: nil), source: source,
                                                                     control: .detached()))
        #expect(file.contentType == "video/mp4" && file.fileExtension == "mp4")
        #expect(file.durationSeconds == 4.2)
        #expect(file.thumbnail == source.bytes, "the still before it plays is the picture it starts from")
        let input = try #require(fake.calls.first?.body["input"] as? String)
        #expect(input.contains("data:image/png;base64,") && input.contains("25_frames_with_svd_xt") && input.contains("\"frames_per_second\": 6"))
    }

    @Test("a job canceled while its prediction runs cancels the prediction at Replicate")
    func cancel() async throws {
        let fake = await FakeReplicate.start()
        defer { Task { await fake.stop() } }
        fake.state.pollsBeforeDone.withLock { $0 = 1000 }
        let asked = Mutex(0)
        let control = JobControl(job: "job_1", attempt: 1) { asked.withLock { $0 += 1; return $0 > 2 } }
        await #expect(throws: JobCanceled.self) {
            _ = try await Self.provider(fake).images(ImageRequest(prompt: "x", seed: 1, count: 1, palette: Palette(skin: nil, hair: nil, eyes: nil, clothing: nil), steps: 20, control: control))
        }
        #expect(fake.calls.contains { $0.method == "POST" && $0.path.hasSuffix("/cancel") })
    }

    @Test("429 with its hint, 5xx, a malformed reply, no answer in time, a failed prediction, a refused token")
    func failures() async throws {
        let fake = await FakeReplicate.start()
        defer { Task { await fake.stop() } }
        func failure(_ provider: ReplicateProvider) async -> ProviderError? {
            do {
                _ = try await provider.images(Self.request(count: 1))
                return nil
            } catch {
                return error as? ProviderError
            }
        }
        let provider = Self.provider(fake)
        fake.failNext(.throttled)
        let throttled = try #require(await failure(provider))
        #expect(throttled.code == "PROVIDER_RATE_LIMITED" && throttled.retryable && throttled.retryAfter == .seconds(7), "\(throttled)")

        fake.failNext(.serverError)
        let down = try #require(await failure(provider))
        #expect(down.code == "PROVIDER_UNAVAILABLE" && down.retryable, "\(down)")

        fake.failNext(.malformed)
        let garbled = try #require(await failure(provider))
        #expect(garbled.code == "PROVIDER_MALFORMED_REPLY" && garbled.retryable, "\(garbled)")

        fake.failNext(.slow)
        let slow = try #require(await failure(Self.provider(fake, timeout: .seconds(1))))
        #expect(slow.code == "PROVIDER_TIMEOUT" && slow.retryable, "\(slow)")

        fake.failNext(.predictionFailed)
        let failed = try #require(await failure(provider))
        #expect(failed.code == "PROVIDER_FAILED" && failed.message.contains("CUDA out of memory"), "\(failed)")

        let refused = try #require(await failure(Self.provider(fake, token: "r8_wrong")))
        #expect(refused.code == "PROVIDER_NOT_AUTHORIZED" && !refused.retryable, "\(refused)")

        #expect(try await provider.images(Self.request(count: 1)).count == 1, "and then a call works")
    }

    @Test("webhook signatures: the Standard Webhooks scheme, any v1 entry, within five minutes")
    func signatures() throws {
        let secret = FakeReplicate.webhookSecret
        let key = try #require(ReplicateWebhooks.key(secret))
        let body = Array(#"{"id":"p1","status":"succeeded"}"#.utf8)
        let now = Date()
        let stamp = String(Int(now.timeIntervalSince1970))
        let good = ReplicateWebhooks.sign(payload: body, id: "msg_1", timestamp: stamp, secret: secret)
        try ReplicateWebhooks.verify(payload: body, id: "msg_1", timestamp: stamp, signature: "v1,b2xk " + good, key: key, now: now)
        #expect(throws: (any Error).self) {
            try ReplicateWebhooks.verify(payload: body + [32], id: "msg_1", timestamp: stamp, signature: good, key: key, now: now)
        }
        #expect(throws: (any Error).self) {
            try ReplicateWebhooks.verify(payload: body, id: "msg_2", timestamp: stamp, signature: good, key: key, now: now)
        }
        #expect(throws: (any Error).self) {
            try ReplicateWebhooks.verify(payload: body, id: "msg_1", timestamp: stamp, signature: good, key: key, now: now.addingTimeInterval(301))
        }
        #expect(throws: (any Error).self) {
            try ReplicateWebhooks.verify(payload: body, id: "msg_1", timestamp: stamp, signature: "", key: key, now: now)
        }
    }
}
