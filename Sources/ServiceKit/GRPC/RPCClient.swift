import GRPCCore
import GRPCNIOTransportHTTP2
import ServiceLifecycle

/// A connection to another service as a lifecycle service, so it opens before its users start
/// and closes after they stop. Calls made through it carry a deadline (`CallOptions.timeout`).
public final class RPCClient: Service, Sendable {
    public let client: GRPCClient<HTTP2ClientTransport.Posix>
    public let target: String
    public let timeout: Duration

    public init(host: String, port: Int, timeout: Duration = .seconds(10)) throws {
        self.target = "\(host):\(port)"
        self.timeout = timeout
        var config = HTTP2ClientTransport.Posix.Config.defaults
        config.backoff.initial = .milliseconds(50)
        config.backoff.max = .seconds(2)
        self.client = GRPCClient(
            transport: try HTTP2ClientTransport.Posix(
                target: .dns(host: host, port: port), transportSecurity: .plaintext, config: config))
    }

    /// The largest reply a call accepts. The largest the services give is a full page of stories
    /// (100 of 50,000 characters, about 5 MB), above gRPC's usual 4 MiB.
    public static let maxReplyBytes = 16 << 20

    /// Call options with this client's deadline; `waitForReady` rides out a service that is still starting.
    public var callOptions: CallOptions {
        var options = CallOptions.defaults
        options.timeout = timeout
        options.waitForReady = true
        // grpc-swift-nio-transport sizes the decoder of a call's replies by this option.
        options.maxRequestMessageBytes = Self.maxReplyBytes
        options.maxResponseMessageBytes = Self.maxReplyBytes
        return options
    }

    public func run() async throws {
        try await withGracefulShutdownHandler {
            try await client.runConnections()
        } onGracefulShutdown: {
            self.client.beginGracefulShutdown()
        }
    }
}
