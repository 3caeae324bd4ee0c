import Foundation
import Testing
@testable import GenerationService

/// The Gemini adapter against its fake: the call it makes (path, API key header, parts, image
/// modality), pictures from text and edits of a picture, and Google's errors.
@Suite("Gemini adapter")
struct GeminiProviderTests {
    static func provider(_ fake: FakeGemini, key: String = FakeGemini.key) -> GeminiProvider {
        var settings = GeminiProvider.Settings(key: key)
        settings.baseURL = URL(string: fake.baseURL)!
        return GeminiProvider(settings: settings, timeout: .seconds(10))
    }

    @Test("pictures from text: one generateContent call each, the image part copied")
    func images() async throws {
        let fake = await FakeGemini.start()
        defer { Task { await fake.stop() } }
        let files = try await Self.provider(fake).images(ImageRequest(prompt: "Aria waving", seed: 5, count: 2, palette: Palette(skin: nil, hair: nil, eyes: nil, clothing: nil), steps: 35,
                                                                       control: .detached()))
        #expect(files.count == 2 && files.allSatisfy { PNGDecoder.isPNG($0.bytes) && $0.width == 64 })
        let calls = fake.calls
        #expect(calls.count == 2)
        #expect(calls.allSatisfy {
            $0.path == "/v1beta/models/gemini-2.5-flash-image:generateContent" && $0.apiKey == FakeGemini.key
                && $0.parts == ["text"] && $0.texts == ["Aria waving"] && $0.modalities == ["TEXT", "IMAGE"]
        })
    }

    @Test("an edit sends the instruction and the picture as inline data")
    func edit() async throws {
        let fake = await FakeGemini.start()
        defer { Task { await fake.stop() } }
        let source = SourceImage(bytes: FakeFiles.png(seed: 9), contentType: "image/png")
        let files = try await Self.provider(fake).edit(EditRequest(instruction: "make them smile", source: source, seed: 1, palette: Palette(skin: nil, hair: nil, eyes: nil, clothing: nil),
                                                                    control: .detached()))
        #expect(files.count == 1)
        #expect(fake.calls.first?.parts == ["text", "image/png"])
        #expect(fake.calls.first?.texts == ["make them smile"])
    }

    @Test("429 RESOURCE_EXHAUSTED with its retry delay, 500, a reply without an image, a safety refusal, a wrong key")
    func failures() async throws {
        let fake = await FakeGemini.start()
        defer { Task { await fake.stop() } }
        func failure(_ provider: GeminiProvider) async -> ProviderError? {
            do {
                _ = try await provider.images(ImageRequest(prompt: "Aria", seed: 1, count: 1, palette: Palette(skin: nil, hair: nil, eyes: nil, clothing: nil), steps: 20, control: .detached()))
                return nil
            } catch {
                return error as? ProviderError
            }
        }
        let provider = Self.provider(fake)
        fake.failNext(.exhausted)
        let exhausted = try #require(await failure(provider))
        #expect(exhausted.code == "PROVIDER_RATE_LIMITED" && exhausted.retryable && exhausted.retryAfter == .seconds(9), "\(exhausted)")
        #expect(exhausted.message.contains("RESOURCE_EXHAUSTED"))

        fake.failNext(.internalError)
        let down = try #require(await failure(provider))
        #expect(down.code == "PROVIDER_UNAVAILABLE" && down.retryable, "\(down)")

        fake.failNext(.noImage)
        let empty = try #require(await failure(provider))
        #expect(empty.code == "PROVIDER_MALFORMED_REPLY" && empty.retryable, "\(empty)")

        fake.failNext(.safety)
        let refused = try #require(await failure(provider))
        #expect(refused.code == "PROVIDER_REFUSED" && !refused.retryable, "\(refused)")

        let wrongKey = try #require(await failure(Self.provider(fake, key: "AIza-wrong")))
        #expect(wrongKey.code == "PROVIDER_NOT_AUTHORIZED" && !wrongKey.retryable, "\(wrongKey)")
    }
}
