import AtelierProtos
import GRPCCore
import ServiceLifecycle
import Synchronization

/// A `ServiceClient` made when the first call needs it: a service of the same process may not
/// have registered its in-process transport or its port (port 0 in tests) when this one is
/// built. A lifecycle service: its connections close when the process stops.
public final class LazyServiceClient: Service, Sendable {
    private let name: ServiceName
    private let configuration: Configuration
    private let directory: ServiceDirectory?
    private let timeout: Duration
    private let client = Mutex<ServiceClient?>(nil)

    public init(_ name: ServiceName, configuration: Configuration, directory: ServiceDirectory?, timeout: Duration) {
        self.name = name
        self.configuration = configuration
        self.directory = directory
        self.timeout = timeout
    }

    public func get() throws -> ServiceClient {
        try client.withLock { client in
            if let client { return client }
            let made = try ServiceClient.make(name, configuration: configuration, directory: directory, timeout: timeout)
            client = made
            return made
        }
    }

    public func call<Method: UnaryMethod>(_ method: Method.Type, _ request: Method.Input, metadata: Metadata) async throws -> Method.Output {
        try await get().call(method, request, metadata: metadata)
    }

    /// Waits for shutdown, then closes the connection if one was made.
    public func run() async throws {
        try? await gracefulShutdown()
        (client.withLock { $0 }?.channel as? HTTP2Channel)?.close()
    }
}
