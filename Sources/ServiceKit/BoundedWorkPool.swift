import NIOPosix
import Synchronization

/// Runs CPU-heavy or blocking work (password hashing, file I/O) on threads of its own, never on an
/// event loop. Concurrency is bounded by the thread count; work beyond `maxQueued` waiting jobs is
/// refused at once so a flood of requests cannot pile up unbounded memory.
public final class BoundedWorkPool: Sendable {
    private let pool: NIOThreadPool
    private let waiting = Mutex(0)
    public let threads: Int
    public let maxQueued: Int

    public init(threads: Int, maxQueued: Int = 1024) {
        self.threads = max(1, threads)
        self.maxQueued = maxQueued
        self.pool = NIOThreadPool(numberOfThreads: self.threads)
        pool.start()
    }

    public func run<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
        let admitted = waiting.withLock { count in
            guard count < maxQueued else { return false }
            count += 1
            return true
        }
        guard admitted else {
            throw ServiceError(.resourceExhausted, reason: "BUSY", "the server is busy; try again shortly", retryAfterSeconds: 1)
        }
        defer { waiting.withLock { $0 -= 1 } }
        return try await pool.runIfActive(work)
    }

    public func shutdown() async throws {
        try await pool.shutdownGracefully()
    }
}
