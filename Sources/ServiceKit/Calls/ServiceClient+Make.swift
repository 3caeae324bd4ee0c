import ServiceLifecycle

extension ServiceClient {
    /// A client of `name`: in the process when this process hosts it and calls skip the socket
    /// (`ServiceDirectory`), else over HTTP/2 to `<name>.host` and the port it listens on (the
    /// directory's, then `<name>.port`).
    public static func make(_ name: ServiceName, configuration: Configuration, directory: ServiceDirectory?,
                            timeout: Duration) throws -> ServiceClient {
        if let local = directory?.localTransport(of: name) {
            return ServiceClient(target: "\(name.rawValue) (in-process)", channel: LocalChannel(local), timeout: timeout)
        }
        let channel = HTTP2Channel(host: name.host(configuration), port: try directory?.port(of: name) ?? name.port(configuration))
        return ServiceClient(target: channel.target, channel: channel, timeout: timeout)
    }

    /// What must stop with the process: the HTTP/2 connections, when the calls use them.
    public var lifecycle: [any Service] {
        (channel as? HTTP2Channel).map { [$0] } ?? []
    }
}

extension HTTP2Channel: Service {
    /// Waits for shutdown, then closes the connections.
    public func run() async throws {
        try? await gracefulShutdown()
        close()
    }
}
