import AtelierProtos
import AtelierTestSupport
import Foundation
import GRPCCore
import ServiceKit
import Testing

@Suite("Sessions")
struct SessionTests {
    @Test("a session token is 32 random bytes in hex, stored only as its hash, valid 30 days",
          arguments: TestBackend.available)
    func tokenShape(backend: TestBackend) async throws {
        try await AuthFixture.run(backend) { auth in
            let reply = try await auth.signUp("ada@example.com")
            let token = reply.session.token
            #expect(token.count == 64)
            #expect(token.allSatisfy { $0.isHexDigit && !$0.isUppercase })
            let days = reply.session.expiresAt.date.timeIntervalSinceNow / 86_400
            #expect(days > 29.99 && days <= 30)
            let rows = try await auth.stack.database(.auth).query("SELECT * FROM sessions")
            for row in rows {
                for value in row.values.values { #expect(value != .text(token)) }
            }
        }
    }

    @Test("validating refreshes the expiry at most once a day", arguments: TestBackend.available)
    func refreshesDaily(backend: TestBackend) async throws {
        try await AuthFixture.run(backend) { auth in
            let reply = try await auth.signUp("ada@example.com")
            let validate = { try await auth.client.validateSession(.with { $0.token = reply.session.token }, metadata: try auth.asService) }
            let first = try await validate()
            let second = try await validate()
            #expect(first.session.expiresAt == second.session.expiresAt)  // same day: no write
            // Pretend the session was last refreshed 25 hours ago and is due to expire soon.
            let past = Date.databaseNow.addingTimeInterval(-25 * 3600)
            try await auth.stack.database(.auth).query(
                "UPDATE sessions SET refreshed_at = \(past), expires_at = \(Date().addingTimeInterval(3600))")
            let refreshed = try await validate()
            let days = refreshed.session.expiresAt.date.timeIntervalSinceNow / 86_400
            #expect(days > 29.99)
            let again = try await validate()
            #expect(again.session.expiresAt == refreshed.session.expiresAt)
        }
    }

    @Test("an expired session is refused", arguments: TestBackend.available)
    func expired(backend: TestBackend) async throws {
        try await AuthFixture.run(backend) { auth in
            let reply = try await auth.signUp("ada@example.com")
            try await auth.stack.database(.auth).query("UPDATE sessions SET expires_at = \(Date().addingTimeInterval(-1))")
            let refused = await failure {
                try await auth.client.validateSession(.with { $0.token = reply.session.token }, metadata: try auth.asService)
            }
            #expect(refused?.code == .unauthenticated)
            #expect(refused?.reason == "SESSION_INVALID")
        }
    }

    @Test("log out ends the session at once", arguments: TestBackend.available)
    func logOut(backend: TestBackend) async throws {
        try await AuthFixture.run(backend) { auth in
            let reply = try await auth.signUp("ada@example.com")
            let user = try await auth.asUser(reply)
            _ = try await auth.client.getSession(.init(), metadata: user)
            _ = try await auth.client.logOut(.init(), metadata: user)
            let after = await failure { try await auth.client.getSession(.init(), metadata: user) }
            #expect(after?.reason == "SESSION_INVALID")
            let validate = await failure {
                try await auth.client.validateSession(.with { $0.token = reply.session.token }, metadata: try auth.asService)
            }
            #expect(validate?.code == .unauthenticated)
        }
    }

    @Test("sign out other sessions keeps only the current one", arguments: TestBackend.available)
    func revokeOthers(backend: TestBackend) async throws {
        try await AuthFixture.run(backend) { auth in
            let phone = try await auth.signUp("ada@example.com")
            let laptop = try await auth.logIn("ada@example.com")
            let tablet = try await auth.logIn("ada@example.com")
            let reply = try await auth.client.revokeOtherSessions(.init(), metadata: try await auth.asUser(laptop))
            #expect(reply.revoked == 2)
            for gone in [phone, tablet] {
                let refused = await failure {
                    try await auth.client.validateSession(.with { $0.token = gone.session.token }, metadata: try auth.asService)
                }
                #expect(refused?.code == .unauthenticated)
            }
            _ = try await auth.client.validateSession(.with { $0.token = laptop.session.token }, metadata: try auth.asService)
        }
    }

    @Test("session and me answer for the signed-in user", arguments: TestBackend.available)
    func sessionAndMe(backend: TestBackend) async throws {
        try await AuthFixture.run(backend) { auth in
            let reply = try await auth.signUp("ada@example.com", name: "Ada")
            let user = try await auth.asUser(reply)
            let session = try await auth.client.getSession(.init(), metadata: user)
            #expect(session.user.id == reply.user.id)
            #expect(session.session.expiresAt.seconds == reply.session.expiresAt.seconds)
            let me = try await auth.client.getMe(.init(), metadata: user)
            #expect(me.user.name == "Ada")
        }
    }
}
