import AtelierProtos
import AtelierTestSupport
import GRPCCore
import ServiceKit
import Testing

@Suite("Callers must prove who they are")
struct PrincipalGateTests {
    @Test("a call without a principal is refused, wherever it comes from", arguments: TestBackend.available)
    func noPrincipal(backend: TestBackend) async throws {
        try await AuthFixture.run(backend) { auth in
            let refused = await failure {
                try await auth.client.signUp(.with { $0.email = "a@example.com"; $0.password = "Quiet-River-42" })
            }
            #expect(refused?.code == .unauthenticated)
        }
    }

    @Test("a principal signed with another key, altered, or expired is refused", arguments: TestBackend.available)
    func forgedPrincipal(backend: TestBackend) async throws {
        try await AuthFixture.run(backend) { auth in
            let forger = PrincipalSigner.generate()
            let genuine = try auth.stack.signer.service(name: "edge", lifetime: .seconds(60))
            let expired = try auth.stack.signer.service(name: "edge", lifetime: .seconds(60), now: .init(timeIntervalSinceNow: -3600))
            let parts = genuine.split(separator: ".")
            var payload = Array(Base64URL.decode(parts[0])!)
            payload[payload.count - 1] ^= 1
            let altered = Base64URL.encode(payload) + "." + parts[1]
            for token in [try forger.service(name: "edge", lifetime: .seconds(60)), altered, expired, "garbage", ""] {
                var metadata = Metadata()
                metadata.addString(token, forKey: PrincipalInterceptor.metadataKey)
                let refused = await failure {
                    try await auth.client.signUp(.with { $0.email = "a@example.com"; $0.password = "Quiet-River-42" }, metadata: metadata)
                }
                #expect(refused?.code == .unauthenticated, "\(token.prefix(20))")
            }
        }
    }

    @Test("a user principal cannot validate arbitrary session tokens", arguments: TestBackend.available)
    func userCannotValidate(backend: TestBackend) async throws {
        try await AuthFixture.run(backend) { auth in
            let reply = try await auth.signUp("ada@example.com")
            let user = try await auth.asUser(reply)
            let refused = await failure {
                try await auth.client.validateSession(.with { $0.token = reply.session.token }, metadata: user)
            }
            #expect(refused?.code == .permissionDenied)
        }
    }

    @Test("a service principal is not a user: user RPCs refuse it", arguments: TestBackend.available)
    func serviceIsNotUser(backend: TestBackend) async throws {
        try await AuthFixture.run(backend) { auth in
            let refused = await failure { try await auth.client.getProfile(.init(), metadata: try auth.asService) }
            #expect(refused?.code == .permissionDenied && refused?.reason == "ROLE_REQUIRED")
        }
    }

    @Test("the health service answers without a principal", arguments: [TestBackend.sqlite])
    func healthIsOpen(backend: TestBackend) async throws {
        try await TestStack.with(backend, services: ServiceName.allCases) { stack in
            for name in ServiceName.allCases {
                try await stack.withClient(name) { grpc in
                    let health = Grpc_Health_V1_Health.Client(wrapping: grpc)
                    let overall = try await health.check(.init())
                    let service = try await health.check(.with { $0.service = name.grpcService })
                    #expect(overall.status == .serving)
                    #expect(service.status == .serving)
                }
            }
        }
    }
}
