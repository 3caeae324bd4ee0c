@testable import AuthService
import AtelierTestSupport
import Foundation
import Logging
import ServiceKit
import Testing

@Suite("Housekeeping")
struct HousekeepingTests {
    @Test("expired sessions, spent tokens and old throttle rows are removed; live ones stay",
          arguments: TestBackend.available)
    func sweeps(backend: TestBackend) async throws {
        try await AuthFixture.run(backend, overrides: ["auth.login-max-failures": "100"]) { auth in
            let live = try await auth.signUp("ada@example.com")
            let stale = try await auth.signUp("grace@example.com")
            _ = await failure { try await auth.logIn("grace@example.com", password: "Wrong-Password-1") }
            let database = auth.stack.database(.auth)
            let longAgo = Date.databaseNow.addingTimeInterval(-3 * 86_400)
            let graceID = stale.user.id
            try await database.query("UPDATE sessions SET expires_at = \(longAgo) WHERE user_id = \(graceID)")
            try await database.query("UPDATE one_time_tokens SET used_at = \(longAgo) WHERE user_id = \(graceID)")
            try await database.query("UPDATE login_throttle SET window_started_at = \(longAgo)")

            let housekeeping = Housekeeping(database: database, throttleWindow: 900, logger: Logger(label: "test"))
            // A session, a token, and the failure's three throttle rows (the account from the
            // address, the address, the account).
            #expect(try await housekeeping.sweep(now: Date.databaseNow) == 5)
            #expect(try await housekeeping.sweep(now: Date.databaseNow) == 0)
            _ = try await auth.client.validateSession(.with { $0.token = live.session.token }, metadata: try auth.asService)
            #expect(try await auth.mailedToken(to: "ada@example.com", kind: "verify_email") != nil)
        }
    }
}
