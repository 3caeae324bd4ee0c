import Synchronization

/// The services of this process: where each listens, once it does, and the in-process
/// transport each serves calls from this process on. `atelier dev` and the tests start
/// services on ports the system may choose (port 0); a service that calls another in the same
/// process looks here first, then at the configured host and port.
public final class ServiceDirectory: Sendable {
    private let ports = Mutex<[ServiceName: Int]>([:])
    private let locals = Mutex<[ServiceName: LocalServerTransport]>([:])
    /// Whether calls between services of this process skip the socket (`calls.in-process`).
    public let inProcessCalls: Bool

    public init(inProcessCalls: Bool = true) {
        self.inProcessCalls = inProcessCalls
    }

    public func register(_ name: ServiceName, port: Int) {
        ports.withLock { $0[name] = port }
    }

    public func port(of name: ServiceName) -> Int? {
        ports.withLock { $0[name] }
    }

    /// A transport for the server of `name`, hosted in this process, to serve this process's
    /// calls on; nil when calls go over the network.
    public func serveLocally(_ name: ServiceName) -> LocalServerTransport? {
        guard inProcessCalls else { return nil }
        let transport = LocalServerTransport(name: name.rawValue)
        locals.withLock { $0[name] = transport }
        return transport
    }

    /// The in-process transport of `name`, when this process hosts it and calls skip the socket.
    public func localTransport(of name: ServiceName) -> LocalServerTransport? {
        locals.withLock { $0[name] }
    }
}
