import AtelierTestSupport
import Foundation
import Testing
@testable import GenerationService

/// A provider's breaker: it opens after failures in a row, lets one probe through once its
/// time is up, and closes on that probe's success (or opens again on its failure).
@Suite("The provider's circuit breaker")
struct CircuitBreakerTests {
    @Test("opens after the threshold, one probe after the pause, closes on success, reopens on failure")
    func states() {
        let breaker = CircuitBreaker(threshold: 2, openFor: .seconds(10))
        let start = ContinuousClock.now
        breaker.failed(now: start)
        #expect(breaker.admit(now: start) == .go, "one failure is not enough")
        breaker.failed(now: start)
        #expect(breaker.admit(now: start + .seconds(4)) == .wait(.seconds(6)))
        #expect(breaker.admit(now: start + .seconds(10)) == .go, "the probe")
        #expect(breaker.current == .halfOpen)
        #expect(breaker.admit(now: start + .seconds(10)) == .wait(.seconds(1)), "one probe at a time")
        breaker.failed(now: start + .seconds(11))
        #expect(breaker.current == .open(until: start + .seconds(21)), "a failed probe opens it again")
        #expect(breaker.admit(now: start + .seconds(21)) == .go)
        breaker.succeeded()
        #expect(breaker.current == .closed(failures: 0))
        breaker.failed(now: start)
        breaker.succeeded()
        breaker.failed(now: start)
        #expect(breaker.admit(now: start) == .go, "a success in between resets the count")
    }

    @Test("a job waits while the breaker is open, without spending an attempt, and finishes once its probe succeeds",
          arguments: TestBackend.available)
    func jobWaits(backend: TestBackend) async throws {
        // The first attempt fails and opens the breaker for 3 s; the retry, due 50 ms later, finds
        // it open and waits; after the pause it is the probe, succeeds and closes the breaker.
        try await TestStack.with(backend, edge: true, overrides: [
            "generation.local.failures": "1", "generation.backoff-ms": "50",
            "generation.breaker.failures": "1", "generation.breaker.open-seconds": "3",
        ]) { stack in
            let (token, character) = try await RetryTests.setUp(stack, "breaker@example.com")
            let submit = try await stack.http("POST", "/api/generate/image", json: ["characterId": character], token: token)
            let id = try #require(ImageVideoFlowTests.job(submit)["id"] as? String, "\(submit.text)")
            let done = try await ImageVideoFlowTests.finished(stack, id, token: token)
            #expect(done["status"] as? String == "succeeded", "\(done)")
            #expect(done["attempts"] as? Int == 2, "waiting spent no attempt: \(done)")
            let events = try await stack.http("GET", "/api/jobs/\(id)/events", token: token).text
            #expect(events.contains("event: waiting"), "\(events)")
            #expect(try await ImageVideoFlowTests.balance(stack, token: token) == (3, 2))
        }
    }
}
