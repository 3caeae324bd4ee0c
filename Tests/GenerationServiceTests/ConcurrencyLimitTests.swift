import Synchronization
import Testing
@testable import GenerationService

/// A provider's concurrency limit: never more calls at once than the limit, waiters served in
/// order, and a cancelled waiter leaving the line without taking a slot.
@Suite("A provider's concurrency limit")
struct ConcurrencyLimitTests {
    @Test("eight calls through a limit of two: never more than two at once, all of them run")
    func bounded() async throws {
        let limit = ConcurrencyLimit(2)
        let peak = Peak()
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<8 {
                group.addTask {
                    try await limit.run {
                        peak.enter()
                        try await Task.sleep(for: .milliseconds(20))
                        peak.leave()
                    }
                }
            }
            try await group.waitForAll()
        }
        #expect(peak.most == 2)
        #expect(limit.running == 0)
    }

    @Test("a waiter cancelled in line leaves it; the slot goes to the next")
    func cancelledWaiter() async throws {
        let limit = ConcurrencyLimit(1)
        let (release, gate) = AsyncStream.makeStream(of: Void.self)
        let holder = Task { try await limit.run { for await _ in release { break } } }
        while limit.running == 0 { await Task.yield() }
        let waiter = Task { try await limit.run { "ran" } }
        try await Task.sleep(for: .milliseconds(20))
        waiter.cancel()
        await #expect(throws: CancellationError.self) { _ = try await waiter.value }
        gate.yield()
        try await holder.value
        #expect(try await limit.run { "next" } == "next")
        #expect(limit.running == 0)
    }
}

/// How many calls run at once, and the most that ever did.
private final class Peak: Sendable {
    private let counts = Mutex((now: 0, most: 0))
    var most: Int { counts.withLock { $0.most } }
    func enter() { counts.withLock { $0.now += 1; $0.most = max($0.most, $0.now) } }
    func leave() { counts.withLock { $0.now -= 1 } }
}
