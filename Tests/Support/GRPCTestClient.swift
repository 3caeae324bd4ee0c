import GRPCCore
import GRPCNIOTransportHTTP2
import ServiceKit

extension TestStack {
    /// Runs `body` with a gRPC client connected to one service.
    public func withClient<T: Sendable>(
        _ name: ServiceName, _ body: (GRPCClient<HTTP2ClientTransport.Posix>) async throws -> T
    ) async throws -> T {
        let transport = try HTTP2ClientTransport.Posix(
            target: .ipv4(address: "127.0.0.1", port: ports[name] ?? 0), transportSecurity: .plaintext)
        return try await withGRPCClient(transport: transport) { client in try await body(client) }
    }

    /// Metadata carrying a principal of a user.
    public func userMetadata(id: String, sessionID: String, plan: String = "free") throws -> Metadata {
        var metadata = Metadata()
        metadata.addString(try signer.user(id: id, sessionID: sessionID, plan: plan, roles: ["user"], lifetime: .seconds(300)),
                           forKey: PrincipalInterceptor.metadataKey)
        return metadata
    }

    /// Metadata carrying a service principal. Its roles are those the RPCs name in proto/: by
    /// default the service's own name as its role ("edge", "generation"), and "admin" for the
    /// back-office caller "test".
    public func serviceMetadata(name: String = "test", roles: [String]? = nil) throws -> Metadata {
        var metadata = Metadata()
        let roles = roles ?? (name == "test" ? ["admin"] : [name])
        metadata.addString(try signer.service(name: name, roles: roles, lifetime: .seconds(300)), forKey: PrincipalInterceptor.metadataKey)
        return metadata
    }
}
