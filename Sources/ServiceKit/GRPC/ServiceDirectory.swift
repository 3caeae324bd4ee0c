import Synchronization

/// Where the services of this process listen, once they do. `atelier dev` and the tests start
/// services on ports the system may choose (port 0); a service that calls another in the same
/// process (a credential check with auth) looks here first, then at the configured port.
public final class ServiceDirectory: Sendable {
    private let ports = Mutex<[ServiceName: Int]>([:])

    public init() {}

    public func register(_ name: ServiceName, port: Int) {
        ports.withLock { $0[name] = port }
    }

    public func port(of name: ServiceName) -> Int? {
        ports.withLock { $0[name] }
    }
}
