import AtelierProtos
import AtelierTestSupport
import GRPCCore
import GRPCNIOTransportHTTP2
import ServiceKit

typealias AuthClient = Atelier_Auth_V1_AuthService.Client<HTTP2ClientTransport.Posix>

/// A running auth service and a client for it, as the edge and back-office callers reach it.
struct AuthFixture {
    let stack: TestStack
    let client: AuthClient

    static func run(_ backend: TestBackend, overrides: [String: String] = [:], _ body: (AuthFixture) async throws -> Void) async throws {
        try await TestStack.with(backend, services: [.auth], overrides: overrides) { stack in
            try await stack.withClient(.auth) { grpc in
                try await body(AuthFixture(stack: stack, client: AuthClient(wrapping: grpc)))
            }
        }
    }

    var asService: Metadata { get throws { try stack.serviceMetadata(name: "edge") } }

    /// Metadata of the signed-in user behind a sign-up or log-in reply.
    func asUser(_ reply: Atelier_Auth_V1_AuthResponse) async throws -> Metadata {
        let validated = try await client.validateSession(.with { $0.token = reply.session.token }, metadata: try asService)
        return try stack.userMetadata(id: validated.user.id, sessionID: validated.session.id)
    }

    @discardableResult
    func signUp(_ email: String, password: String = "Quiet-River-42", name: String? = nil) async throws -> Atelier_Auth_V1_AuthResponse {
        try await client.signUp(.with {
            $0.email = email
            $0.password = password
            if let name { $0.name = name }
        }, metadata: try asService)
    }

    func logIn(_ email: String, password: String = "Quiet-River-42") async throws -> Atelier_Auth_V1_AuthResponse {
        try await client.logIn(.with {
            $0.email = email
            $0.password = password
        }, metadata: try asService)
    }

    /// The newest one-time token mailed to `email` of the given kind, as it arrived in the mailbox.
    func mailedToken(to email: String, kind: String, excluding: String? = nil, within: Duration = .seconds(10)) async throws -> String? {
        try await stack.mailedToken(to: email, kind: kind, excluding: excluding, within: within)
    }
}
