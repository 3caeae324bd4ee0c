import AtelierTestSupport
import Foundation
import Testing

/// Attempts against a provider that fails: backoff and another attempt, charged once; at most
/// three attempts, then failed with the hold released.
@Suite("Retries and failures of a job")
struct RetryTests {
    static func setUp(_ stack: TestStack, _ email: String) async throws -> (token: String, character: String) {
        let (token, _) = try await stack.signUp(email)
        let created = try await stack.http("POST", "/api/characters", json: ["name": "Cleo"], token: token)
        return (token, try #require((created.json["character"] as? [String: Any])?["id"] as? String, "\(created.text)"))
    }

    @Test("a failed attempt is retried after its backoff and the job is charged once", arguments: TestBackend.available)
    func retried(backend: TestBackend) async throws {
        try await TestStack.with(backend, edge: true, overrides: ["generation.local.failures": "1", "generation.backoff-ms": "50"]) { stack in
            let (token, character) = try await Self.setUp(stack, "retry@example.com")
            let submit = try await stack.http("POST", "/api/generate/image", json: ["characterId": character, "count": 2], token: token)
            let id = try #require(ImageVideoFlowTests.job(submit)["id"] as? String, "\(submit.text)")
            let done = try await ImageVideoFlowTests.finished(stack, id, token: token)
            #expect(done["status"] as? String == "succeeded", "\(done)")
            #expect(done["attempts"] as? Int == 2)
            #expect(try await ImageVideoFlowTests.balance(stack, token: token) == (3, 1))
            #expect(try await stack.http("GET", "/api/media?characterId=\(character)", token: token).list("media").count == 2)
        }
    }

    @Test("a provider failing every attempt ends the job failed after 3 attempts, its hold released", arguments: TestBackend.available)
    func failedForGood(backend: TestBackend) async throws {
        try await TestStack.with(backend, edge: true, overrides: ["generation.local.failures": "99", "generation.backoff-ms": "20"]) { stack in
            let (token, character) = try await Self.setUp(stack, "doomed@example.com")
            let submit = try await stack.http("POST", "/api/generate/image", json: ["characterId": character], token: token)
            let id = try #require(ImageVideoFlowTests.job(submit)["id"] as? String, "\(submit.text)")
            #expect(try await ImageVideoFlowTests.balance(stack, token: token) == (3, 2))
            let done = try await ImageVideoFlowTests.finished(stack, id, token: token)
            #expect(done["status"] as? String == "failed", "\(done)")
            #expect(done["attempts"] as? Int == 3)
            #expect(done["errorCode"] as? String == "PROVIDER_UNAVAILABLE")
            #expect(done["charge"] as? String == "released")
            #expect(try await ImageVideoFlowTests.balance(stack, token: token) == (3, 3))
            #expect(try await stack.http("GET", "/api/media?characterId=\(character)", token: token).list("media").isEmpty)
        }
    }
}
