import AtelierTestSupport
import Foundation
import ServiceKit
import Testing

/// A job whose lease lapses (its worker seems dead) goes back to the queue and is run again;
/// the worker that lost it may still be running, and yet the job is stored, attached and
/// charged once, and only the worker holding the lease ends it.
@Suite("Lapsed leases")
struct LeaseRescueTests {
    @Test("a job taken back from its worker runs again and is attached and charged once", arguments: TestBackend.available)
    func rescued(backend: TestBackend) async throws {
        try await TestStack.with(backend, edge: true, overrides: [
            "generation.workers": "2", "generation.lease-seconds": "2", "generation.local.delay-ms": "1200",
        ]) { stack in
            let (token, character) = try await RetryTests.setUp(stack, "rescued@example.com")
            let submit = try await stack.http("POST", "/api/generate/image", json: ["characterId": character, "count": 2], token: token)
            let id = try #require(ImageVideoFlowTests.job(submit)["id"] as? String, "\(submit.text)")
            let generation = stack.database(.generation)
            let deadline = ContinuousClock.now + .seconds(10)
            while ContinuousClock.now < deadline,
                  try await generation.count("SELECT COUNT(*) AS n FROM jobs WHERE id = \(id) AND status = 'running'") == 0 {
                try await Task.sleep(for: .milliseconds(50))
            }
            // The worker looks dead: its lease ran out long ago.
            try await generation.query("UPDATE jobs SET lease_until = 0 WHERE id = \(id)")

            let done = try await ImageVideoFlowTests.finished(stack, id, token: token)
            #expect(done["status"] as? String == "succeeded", "\(done)")
            #expect(done["attempts"] as? Int == 2, "the rescuer gave the job a second attempt")
            let events = try await stack.http("GET", "/api/jobs/\(id)/events", token: token).text
            #expect(events.contains("event: retrying"), "\(events)")
            #expect(try await stack.http("GET", "/api/media?characterId=\(character)", token: token).list("media").count == 2)
            #expect(try await ImageVideoFlowTests.balance(stack, token: token) == (3, 1), "two units, charged once")
        }
    }
}
