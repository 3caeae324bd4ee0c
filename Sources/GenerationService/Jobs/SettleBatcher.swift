import Synchronization

/// The settles of jobs that finish together, sent as one SettleHolds call. Under load jobs end
/// while an earlier settle is still on its way; they wait for it and then go together, so
/// commerce makes one transaction for them instead of one each (a job's settle was a third of
/// its statements). A settle that finds none on its way goes at once, as a Settle of its own:
/// nothing waits on a timer. When a batch fails (a hold of it not open, commerce unreachable),
/// each of its jobs settles on its own with Settle, which answers each hold exactly: a retry
/// gets its first reply, a hold that is not open its own error.
final class SettleBatcher: Sendable {
    private enum Outcome {
        case settled
        case failed(any Error)
        /// The batch did not go through: the job settles its holds itself.
        case alone
    }

    private struct Waiting {
        let user: String
        let holds: [String]
        let continuation: CheckedContinuation<Outcome, Never>
    }

    private struct State {
        var waiting: [Waiting] = []
        var sending = false
    }

    /// Holds in one call at most (commerce takes 100).
    static let maxHolds = 100

    private let peers: Peers
    private let state = Mutex(State())

    init(peers: Peers) {
        self.peers = peers
    }

    /// Settles a finished job's holds, with those of other jobs finishing meanwhile.
    func settle(user: String, holds: [String]) async throws {
        guard !holds.isEmpty else { return }
        let outcome = await withCheckedContinuation { continuation in
            let send = state.withLock { state -> Bool in
                state.waiting.append(Waiting(user: user, holds: holds, continuation: continuation))
                guard !state.sending else { return false }
                state.sending = true
                return true
            }
            // Detached: the batch is no one job's, and carries no job's request id.
            if send { Task.detached { await self.sendWhileWaiting() } }
        }
        switch outcome {
        case .settled: return
        case .failed(let error): throw error
        case .alone: for hold in holds { try await peers.settle(user: user, hold: hold) }
        }
    }

    /// Sends what waits, a call at a time, until nothing does.
    private func sendWhileWaiting() async {
        while true {
            let batch = state.withLock { state -> [Waiting] in
                var count = 0, holds = 0
                for waiting in state.waiting {
                    guard count == 0 || holds + waiting.holds.count <= Self.maxHolds else { break }
                    count += 1
                    holds += waiting.holds.count
                }
                let batch = Array(state.waiting.prefix(count))
                state.waiting.removeFirst(count)
                if batch.isEmpty { state.sending = false }
                return batch
            }
            guard !batch.isEmpty else { return }
            if batch.count == 1, batch[0].holds.count == 1 {
                // Alone: a Settle of its own, and whoever arrives meanwhile waits for it.
                let job = batch[0]
                do {
                    try await peers.settle(user: job.user, hold: job.holds[0])
                    job.continuation.resume(returning: .settled)
                } catch {
                    job.continuation.resume(returning: .failed(error))
                }
                continue
            }
            let settled = (try? await peers.settle(batch.flatMap { job in job.holds.map { (user: job.user, hold: $0) } })) != nil
            for job in batch { job.continuation.resume(returning: settled ? .settled : .alone) }
        }
    }
}
