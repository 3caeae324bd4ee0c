import NIOPosix
import ServiceLifecycle
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Runs CPU-heavy or blocking work (password hashing, file I/O) on threads of its own, never on an
/// event loop. Concurrency is bounded by the thread count; work beyond `maxQueued` waiting jobs is
/// refused at once so a flood of requests cannot pile up unbounded memory. A lifecycle service:
/// its threads stop once the process shuts down, after the server that uses them.
public final class BoundedWorkPool: Service, Sendable {
    private let pool: NIOThreadPool
    private let waiting = Mutex(0)
    public let threads: Int
    public let maxQueued: Int

    public let returnsMemoryWhenIdle: Bool

    public init(threads: Int, maxQueued: Int = 1024, returnsMemoryWhenIdle: Bool = false) {
        self.threads = max(1, threads)
        self.maxQueued = maxQueued
        self.returnsMemoryWhenIdle = returnsMemoryWhenIdle
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
        defer {
            let idle = waiting.withLock { count in
                count -= 1
                return count == 0
            }
            if idle && returnsMemoryWhenIdle { Self.returnFreeMemory() }
        }
        return try await pool.runIfActive(work)
    }

    /// Work such as scrypt allocates large blocks on each thread; glibc keeps what they free in
    /// per-thread arenas, so the process would stay large after a burst. When the pool falls
    /// idle, the free memory goes back to the system.
    private static func returnFreeMemory() {
        #if canImport(Glibc)
        // malloc_trim lives in <malloc.h>, which the Glibc module does not import.
        typealias MallocTrim = @convention(c) (Int) -> Int32
        if let symbol = dlsym(dlopen(nil, RTLD_NOW), "malloc_trim") {
            _ = unsafeBitCast(symbol, to: MallocTrim.self)(0)
        }
        #endif
    }

    public func shutdown() async throws {
        try await pool.shutdownGracefully()
    }

    /// Waits for shutdown, then lets the work in hand finish and stops the threads.
    public func run() async throws {
        try? await gracefulShutdown()
        // Stopping must happen even when shutdown came as cancellation: an unstructured task
        // does not inherit it.
        try await Task { try await self.shutdown() }.value
    }
}
