import Hummingbird
import Logging
import ServiceLifecycle

/// An HTTP server on a loopback port the system chooses, for tests' stand-ins of outside
/// services (Stripe, an S3 bucket); stopped by `stop()`.
public final class LocalHTTPServer: Sendable {
    public let port: Int
    private let group: ServiceGroup
    private let task: Task<Void, any Error>

    public static func start(_ router: Router<BasicRequestContext>, label: String) async -> LocalHTTPServer {
        let logger = Logger(label: label)
        let (stream, continuation) = AsyncStream.makeStream(of: Int.self)
        let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)),
                              onServerRunning: { continuation.yield($0.localAddress?.port ?? 0) }, logger: logger)
        let group = ServiceGroup(configuration: .init(services: [app], logger: logger))
        let task = Task { try await group.run() }
        var iterator = stream.makeAsyncIterator()
        let port = await iterator.next() ?? 0
        return LocalHTTPServer(port: port, group: group, task: task)
    }

    private init(port: Int, group: ServiceGroup, task: Task<Void, any Error>) {
        self.port = port
        self.group = group
        self.task = task
    }

    public func stop() async {
        await group.triggerGracefulShutdown()
        _ = try? await task.value
    }
}
