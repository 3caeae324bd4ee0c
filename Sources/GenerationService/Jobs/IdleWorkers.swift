import Synchronization

/// The workers of a `JobRunner` that found nothing to claim, each asleep until woken: by a
/// submit of this process (`wakeOne(polled: false)`), by the poller (`wakeOne(polled: true)`), or
/// by shutdown (`wakeAll`, or the sleeping task's cancellation).
final class IdleWorkers: Sendable {
    /// Sleepers by a number of their own, and the numbers of those stopped (shut down) before they
    /// started waiting.
    private struct Sleepers {
        var next: UInt64 = 0
        var waiting: [(id: UInt64, continuation: CheckedContinuation<Bool, Never>)] = []
        /// Woken, not yet back from their wait.
        var woken: Set<UInt64> = []
        /// Stopped before they started waiting: they must not start.
        var done: Set<UInt64> = []
    }

    private let sleepers = Mutex(Sleepers())

    /// Wakes the worker asleep longest, if any; `polled` tells it the poller woke it.
    func wakeOne(polled: Bool) {
        let sleeper = sleepers.withLock { sleepers -> CheckedContinuation<Bool, Never>? in
            guard !sleepers.waiting.isEmpty else { return nil }
            let first = sleepers.waiting.removeFirst()
            sleepers.woken.insert(first.id)
            return first.continuation
        }
        sleeper?.resume(returning: polled)
    }

    /// Sleeps until woken. Whether the poller woke it.
    func sleep() async -> Bool {
        let id = sleepers.withLock { sleepers in
            sleepers.next += 1
            return sleepers.next
        }
        let polled = await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Bool, Never>) in
                let resumeNow = self.sleepers.withLock { sleepers in
                    if sleepers.done.remove(id) != nil { return true }
                    sleepers.waiting.append((id, continuation))
                    return false
                }
                if resumeNow { continuation.resume(returning: false) }
            }
        } onCancel: {
            self.stopWaiting(id)
        }
        sleepers.withLock { _ = $0.woken.remove(id) }
        return polled
    }

    private func stopWaiting(_ id: UInt64) {
        let sleeper = sleepers.withLock { sleepers -> CheckedContinuation<Bool, Never>? in
            if let index = sleepers.waiting.firstIndex(where: { $0.id == id }) { return sleepers.waiting.remove(at: index).continuation }
            // Woken at the same moment: its wait is over already.
            if sleepers.woken.contains(id) { return nil }
            // Not yet waiting: it must not start.
            sleepers.done.insert(id)
            return nil
        }
        sleeper?.resume(returning: false)
    }

    /// Wakes every sleeper, so the workers' group can end.
    func wakeAll() {
        let all = sleepers.withLock { sleepers in
            defer { sleepers.waiting = [] }
            for sleeper in sleepers.waiting { sleepers.woken.insert(sleeper.id) }
            return sleepers.waiting
        }
        for sleeper in all { sleeper.continuation.resume(returning: false) }
    }
}
