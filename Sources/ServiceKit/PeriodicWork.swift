import ServiceLifecycle

/// Background work repeated every `interval` until shutdown: outbox delivery, housekeeping.
/// It starts once `ready` returns (usually: the service's server listens, so its migrations
/// have made the tables the work reads).
public struct PeriodicWork: Service {
    private let interval: Duration
    private let ready: @Sendable () async throws -> Void
    private let work: @Sendable () async -> Void

    public init(every interval: Duration, after ready: @escaping @Sendable () async throws -> Void,
                _ work: @escaping @Sendable () async -> Void) {
        self.interval = interval
        self.ready = ready
        self.work = work
    }

    public func run() async throws {
        try await ready()
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                await work()
                try? await Task.sleep(for: interval)
            }
        }
    }
}
