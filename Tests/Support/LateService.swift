import Logging
import NIOCore
import NIOPosix
import ServiceKit
import ServiceLifecycle

extension TestStack {
    /// A loopback port nothing listens on now: for a service the stack's callers are pointed at
    /// but that starts later (`withLateService`), or never.
    public static func unusedPort() async throws -> Int {
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .bind(host: "127.0.0.1", port: 0).get()
        let port = channel.localAddress?.port ?? 0
        try await channel.close()
        return port
    }

    /// Starts `name` on `port` for the length of `body`, with the stack's configuration and
    /// signer: a service that was down when the stack started and comes back.
    public func withLateService<T>(_ name: ServiceName, port: Int, _ body: (HostedService) async throws -> T) async throws -> T {
        let logger = Logger(label: "test")
        let service = try await Self.make(name, configuration: configuration.overriding(["\(name.rawValue).port": String(port)]),
                                          verifier: signer.verifier, logger: logger, clock: .system)
        let group = ServiceGroup(configuration: .init(services: service.lifecycle.map { .init(service: $0) }, logger: logger))
        let task = Task { try await group.run() }
        do {
            _ = try await service.server.listeningPort()
            let result = try await body(service)
            await group.triggerGracefulShutdown()
            _ = try? await task.value
            return result
        } catch {
            await group.triggerGracefulShutdown()
            _ = try? await task.value
            throw error
        }
    }
}
