import AtelierProtos
import AtelierTestSupport
import GRPCCore
import ServiceKit
import Testing

@Suite("Email verification and password reset")
struct RecoveryTests {
    @Test("the mailed token verifies the email, once", arguments: TestBackend.available)
    func verifiesEmail(backend: TestBackend) async throws {
        try await AuthFixture.run(backend) { auth in
            try await auth.signUp("ada@example.com")
            let token = try #require(try await auth.mailedToken(to: "ada@example.com", kind: "verify_email"))
            let reply = try await auth.client.verifyEmail(.with { $0.token = token }, metadata: try auth.asService)
            #expect(reply.user.emailVerified)
            let reused = await failure { try await auth.client.verifyEmail(.with { $0.token = token }, metadata: try auth.asService) }
            #expect(reused?.reason == "TOKEN_INVALID")
            let bogus = await failure {
                try await auth.client.verifyEmail(.with { $0.token = String(repeating: "0", count: 64) }, metadata: try auth.asService)
            }
            #expect(bogus?.code == .invalidArgument)
        }
    }

    @Test("resending voids the earlier link; a verified address cannot ask again", arguments: TestBackend.available)
    func resends(backend: TestBackend) async throws {
        try await AuthFixture.run(backend) { auth in
            let signUp = try await auth.signUp("ada@example.com")
            let user = try await auth.asUser(signUp)
            let first = try #require(try await auth.mailedToken(to: "ada@example.com", kind: "verify_email"))
            _ = try await auth.client.resendVerificationEmail(.init(), metadata: user)
            let second = try #require(try await auth.mailedToken(to: "ada@example.com", kind: "verify_email", excluding: first))
            #expect(first != second)
            let old = await failure { try await auth.client.verifyEmail(.with { $0.token = first }, metadata: try auth.asService) }
            #expect(old?.reason == "TOKEN_INVALID")
            _ = try await auth.client.verifyEmail(.with { $0.token = second }, metadata: try auth.asService)
            let again = await failure { try await auth.client.resendVerificationEmail(.init(), metadata: user) }
            #expect(again?.reason == "ALREADY_VERIFIED")
        }
    }

    @Test("a reset request answers the same for unknown addresses and mails nothing", arguments: TestBackend.available)
    func resetRequestRevealsNothing(backend: TestBackend) async throws {
        try await AuthFixture.run(backend) { auth in
            try await auth.signUp("ada@example.com")
            let known = try await auth.client.requestPasswordReset(.with { $0.email = "ada@example.com" }, metadata: try auth.asService)
            let unknown = try await auth.client.requestPasswordReset(.with { $0.email = "nobody@example.com" }, metadata: try auth.asService)
            #expect(known == unknown)
            #expect(try await auth.mailedToken(to: "ada@example.com", kind: "reset_password") != nil)
            #expect(try await auth.mailedToken(to: "nobody@example.com", kind: "reset_password", within: .seconds(1)) == nil)
        }
    }

    @Test("a reset sets the new password, follows the password rules and ends every session",
          arguments: TestBackend.available)
    func resets(backend: TestBackend) async throws {
        try await AuthFixture.run(backend) { auth in
            let signUp = try await auth.signUp("ada@example.com")
            _ = try await auth.client.requestPasswordReset(.with { $0.email = "ada@example.com" }, metadata: try auth.asService)
            let token = try #require(try await auth.mailedToken(to: "ada@example.com", kind: "reset_password"))
            let weak = await failure {
                try await auth.client.resetPassword(.with { $0.token = token; $0.password = "weak" }, metadata: try auth.asService)
            }
            #expect(weak?.field == "password")
            _ = try await auth.client.resetPassword(.with { $0.token = token; $0.password = "New-Harbor-77" }, metadata: try auth.asService)
            let old = await failure {
                try await auth.client.validateSession(.with { $0.token = signUp.session.token }, metadata: try auth.asService)
            }
            #expect(old?.code == .unauthenticated)
            let oldPassword = await failure { try await auth.logIn("ada@example.com") }
            #expect(oldPassword?.reason == "INVALID_CREDENTIALS")
            let reply = try await auth.logIn("ada@example.com", password: "New-Harbor-77")
            #expect(reply.user.emailVerified)
            let reused = await failure {
                try await auth.client.resetPassword(.with { $0.token = token; $0.password = "Other-Harbor-77" }, metadata: try auth.asService)
            }
            #expect(reused?.reason == "TOKEN_INVALID")
        }
    }
}
