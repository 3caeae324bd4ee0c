import Synchronization

/// Calls that arrive together, sent as one: commerce's holds of submits that come in at once
/// (`PlaceHolds`), the inserts of those submits' jobs, and settles of jobs that finish together
/// (`SettleHolds`), each one transaction or statement for all of them instead of one each (a hold
/// and a settle were over half a job's statements).
/// Whoever finds no call on its way sends its items at once; whoever arrives while one is on its
/// way waits for it and goes in the next, with everyone else who waited. Nothing waits on a timer.
///
/// A batch is all or none. When it fails (an item the service refuses as it stands, the service
/// unreachable) every caller in it hears nil and makes its own items one by one with the single
/// call, which answers each exactly: a retry its first reply, a refusal its own error.
final class CallBatcher<Item: Sendable, Reply: Sendable>: Sendable {
    private struct Waiting {
        let items: [Item]
        let continuation: CheckedContinuation<[Reply]?, Never>
    }

    private struct State {
        var waiting: [Waiting] = []
        var sending = false
    }

    private let maxItems: Int
    private let send: @Sendable ([Item]) async throws -> [Reply]
    private let state = Mutex(State())

    /// - Parameters:
    ///   - maxItems: items in one call at most (the service's limit); a caller with more goes alone.
    ///   - send: the batch call; its replies in the order of its items.
    init(maxItems: Int, send: @escaping @Sendable ([Item]) async throws -> [Reply]) {
        self.maxItems = maxItems
        self.send = send
    }

    /// `items`' replies, in their order, from a batch call; nil when the batch they went in failed
    /// and the caller is to make them itself.
    func together(_ items: [Item]) async -> [Reply]? {
        guard !items.isEmpty else { return [] }
        return await withCheckedContinuation { continuation in
            let sender = state.withLock { state -> Bool in
                state.waiting.append(Waiting(items: items, continuation: continuation))
                guard !state.sending else { return false }
                state.sending = true
                return true
            }
            // Detached: a batch is no one caller's, and carries no caller's request id.
            if sender { Task.detached { await self.sendWhileWaiting() } }
        }
    }

    /// `item`'s reply from a batch call, or from `alone` (the single call) when its batch failed.
    func reply(_ item: Item, orAlone alone: () async throws -> Reply) async throws -> Reply {
        if let replies = await together([item]) { return replies[0] }
        return try await alone()
    }

    /// Sends what waits, a call at a time, until nothing does.
    private func sendWhileWaiting() async {
        while true {
            let batch = state.withLock { state -> [Waiting] in
                var count = 0, items = 0
                for waiting in state.waiting {
                    guard count == 0 || items + waiting.items.count <= maxItems else { break }
                    count += 1
                    items += waiting.items.count
                }
                let batch = Array(state.waiting.prefix(count))
                state.waiting.removeFirst(count)
                if batch.isEmpty { state.sending = false }
                return batch
            }
            guard !batch.isEmpty else { return }
            let replies = try? await send(batch.flatMap(\.items))
            var next = 0
            for waiting in batch {
                guard let replies, replies.count >= next + waiting.items.count else {
                    waiting.continuation.resume(returning: nil)
                    continue
                }
                waiting.continuation.resume(returning: Array(replies[next..<(next + waiting.items.count)]))
                next += waiting.items.count
            }
        }
    }
}
