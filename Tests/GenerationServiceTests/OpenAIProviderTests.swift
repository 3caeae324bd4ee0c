import Foundation
import Testing
@testable import GenerationService

/// The OpenAI adapter against its fake: structured output, images, speech in parts, and every
/// failure: a 429 retried after `retry-after-ms`, `insufficient_quota` not retried, a 5xx, no
/// answer in time, a refusal, the content filter, an answer that is not JSON, a wrong key.
@Suite("OpenAI adapter")
struct OpenAIProviderTests {
    static func provider(_ fake: FakeOpenAI, key: String = FakeOpenAI.key, timeout: Duration = .seconds(10)) -> OpenAIProvider {
        var settings = OpenAIProvider.Settings(key: key)
        settings.baseURL = URL(string: fake.baseURL)!
        return OpenAIProvider(settings: settings, timeout: timeout)
    }

    static let schema = #"{"type":"object","properties":{"title":{"type":"string"},"content":{"type":"string"}},"required":["title","content"],"additionalProperties":false}"#

    static func request() -> TextRequest {
        TextRequest(instructions: "Write a bedtime story.", input: "Alice, 7, brave", schemaName: "story", schema: schema, control: .detached())
    }

    @Test("a story as structured output: the model, both messages, the strict schema; tokens counted")
    func structured() async throws {
        let fake = await FakeOpenAI.start()
        defer { Task { await fake.stop() } }
        let reply = try await Self.provider(fake).complete(Self.request())
        let story = try #require(try JSONSerialization.jsonObject(with: Data(reply.json.utf8)) as? [String: String])
        #expect(story["title"] == "the title from the fake" && story["content"] != nil)
        #expect(reply.promptTokens == 420 && reply.completionTokens == 780 && reply.model.hasPrefix("gpt-4o"))
        let call = try #require(fake.calls.first)
        #expect(call.path == "/v1/chat/completions" && call.authorization == "Bearer \(FakeOpenAI.key)")
        #expect(call.body["model"] == #""gpt-4o""#)
        #expect(call.body["messages"]?.contains("Write a bedtime story.") == true && call.body["messages"]?.contains("Alice, 7, brave") == true)
        #expect(call.body["response_format"]?.contains(#""strict":true"#) == true)
        #expect(call.body["response_format"]?.contains(#""type":"json_schema""#) == true)
    }

    @Test("speech longer than 4,096 characters is narrated in parts and joined; its length read from the MP3")
    func speechInParts() async throws {
        let fake = await FakeOpenAI.start()
        defer { Task { await fake.stop() } }
        let sentence = "The little fox ran over the hill and into the wood. "
        let text = String(repeating: sentence, count: 180)  // 9,360 characters
        let speech = try await Self.provider(fake).speak(SpeechRequest(text: text, voice: "nova", control: .detached()))
        let calls = fake.calls.filter { $0.path == "/v1/audio/speech" }
        #expect(calls.count == 3)
        #expect(calls.allSatisfy { $0.body["voice"] == #""nova""# && $0.body["model"] == #""tts-1""# })
        let narrated = SpeechParts.split(text)
        #expect(narrated.allSatisfy { $0.count <= 4096 && $0.hasSuffix(".") }, "cut at sentence ends")
        #expect(narrated.joined(separator: " ") == text.trimmingCharacters(in: .whitespaces))
        let characters = narrated.map(\.count).reduce(0, +)
        #expect(abs(speech.durationSeconds - Double(characters) * FakeOpenAI.frameSeconds) < 0.01)
        #expect(speech.contentType == "audio/mpeg" && speech.characters == text.count)
    }

    @Test("images come back as base64 PNGs")
    func images() async throws {
        let fake = await FakeOpenAI.start()
        defer { Task { await fake.stop() } }
        let files = try await Self.provider(fake).images(ImageRequest(prompt: "Alice with a lantern", seed: 1, count: 2,
                                                                       palette: Palette(skin: nil, hair: nil, eyes: nil, clothing: nil), steps: 35,
                                                                       control: .detached()))
        #expect(files.count == 2 && files.allSatisfy { PNGDecoder.isPNG($0.bytes) })
        #expect(fake.calls.first?.body["model"] == #""gpt-image-1""#)
    }

    @Test("429 rate_limit_exceeded retried after its hint; insufficient_quota not; 5xx; timeout; refusal; filter; not JSON; wrong key")
    func failures() async throws {
        let fake = await FakeOpenAI.start()
        defer { Task { await fake.stop() } }
        func failure(_ provider: OpenAIProvider) async -> ProviderError? {
            do {
                _ = try await provider.complete(Self.request())
                return nil
            } catch {
                return error as? ProviderError
            }
        }
        let provider = Self.provider(fake)
        fake.failNext(.rateLimited)
        let limited = try #require(await failure(provider))
        #expect(limited.code == "PROVIDER_RATE_LIMITED" && limited.retryable && limited.retryAfter == .milliseconds(1200), "\(limited)")
        fake.failNext(.quota)
        let quota = try #require(await failure(provider))
        #expect(quota.code == "PROVIDER_QUOTA_EXHAUSTED" && !quota.retryable, "\(quota)")
        fake.failNext(.serverError)
        let down = try #require(await failure(provider))
        #expect(down.code == "PROVIDER_UNAVAILABLE" && down.retryable, "\(down)")
        fake.failNext(.slow)
        let slow = try #require(await failure(Self.provider(fake, timeout: .seconds(1))))
        #expect(slow.code == "PROVIDER_TIMEOUT" && slow.retryable, "\(slow)")
        fake.failNext(.refusal)
        let refused = try #require(await failure(provider))
        #expect(refused.code == "PROVIDER_REFUSED" && !refused.retryable && refused.message.contains("can't help"), "\(refused)")
        fake.failNext(.contentFilter)
        let filtered = try #require(await failure(provider))
        #expect(filtered.code == "PROVIDER_REFUSED" && !filtered.retryable, "\(filtered)")
        fake.failNext(.notJSON)
        let garbled = try #require(await failure(provider))
        #expect(garbled.code == "PROVIDER_MALFORMED_REPLY" && garbled.retryable, "\(garbled)")
        let wrongKey = try #require(await failure(Self.provider(fake, key: "sk-wrong")))
        #expect(wrongKey.code == "PROVIDER_NOT_AUTHORIZED" && !wrongKey.retryable, "\(wrongKey)")
        #expect(await failure(provider) == nil, "and then a call works")
    }
}
