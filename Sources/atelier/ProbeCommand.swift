import ArgumentParser
import AtelierProtos
import GRPCCore
import GRPCNIOTransportHTTP2
import NIOCore
import NIOPosix

/// `atelier probe`: exits 0 when a gRPC service answers SERVING on grpc.health.v1, or when the
/// edge answers `/healthz`; for container health checks, which have no grpcurl or curl.
struct ProbeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "probe", abstract: "Check that a service is serving.")

    @Option(help: "host:port of a gRPC service.") var grpc: String?
    @Option(help: "host:port of the edge.") var http: String?

    func run() async throws {
        if let grpc {
            let (host, port) = try Self.split(grpc)
            let transport = try HTTP2ClientTransport.Posix(target: .dns(host: host, port: port), transportSecurity: .plaintext)
            let status = try await withGRPCClient(transport: transport) { client in
                var options = CallOptions.defaults
                options.timeout = .seconds(3)
                return try await Grpc_Health_V1_Health.Client(wrapping: client).check(.init(), options: options).status
            }
            guard status == .serving else { throw ExitCode(1) }
        } else if let http {
            let (host, port) = try Self.split(http)
            guard try await Self.healthz(host: host, port: port) else { throw ExitCode(1) }
        } else {
            throw ValidationError("give --grpc host:port or --http host:port")
        }
    }

    static func split(_ address: String) throws -> (String, Int) {
        let parts = address.split(separator: ":")
        guard parts.count == 2, let port = Int(parts[1]) else { throw ValidationError("expected host:port, got '\(address)'") }
        return (String(parts[0]), port)
    }

    /// A bare HTTP/1.1 GET of /healthz, enough to tell a live edge from a dead one.
    static func healthz(host: String, port: Int) async throws -> Bool {
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connectTimeout(.seconds(3))
            .connect(host: host, port: port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel)
                }
            }
        return try await channel.executeThenClose { inbound, outbound in
            try await outbound.write(ByteBuffer(string: "GET /healthz HTTP/1.1\r\nHost: \(host)\r\nConnection: close\r\n\r\n"))
            var response = ""
            for try await chunk in inbound {
                response += String(buffer: chunk)
                if response.contains("\r\n") { break }
            }
            return response.hasPrefix("HTTP/1.1 200")
        }
    }
}
