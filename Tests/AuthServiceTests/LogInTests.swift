import AtelierProtos
import AtelierTestSupport
import Foundation
import GRPCCore
import ServiceKit
import Testing

@Suite("Log in")
struct LogInTests {
    @Test("the right password opens a new session", arguments: TestBackend.available)
    func logsIn(backend: TestBackend) async throws {
        try await AuthFixture.run(backend) { auth in
            let first = try await auth.signUp("ada@example.com")
            let second = try await auth.logIn("ada@example.com")
            #expect(second.user.id == first.user.id)
            #expect(second.session.token != first.session.token)
        }
    }

    @Test("unknown email and wrong password get the same status and body", arguments: TestBackend.available)
    func sameFailure(backend: TestBackend) async throws {
        try await AuthFixture.run(backend) { auth in
            try await auth.signUp("ada@example.com")
            let wrong = await failure { try await auth.logIn("ada@example.com", password: "Wrong-Password-1") }
            let unknown = await failure { try await auth.logIn("nobody@example.com", password: "Wrong-Password-1") }
            #expect(wrong == unknown)
            #expect(wrong?.code == .unauthenticated)
            #expect(wrong?.reason == "INVALID_CREDENTIALS")
        }
    }

    @Test("unknown email and wrong password take about the same time: both run scrypt", arguments: TestBackend.available)
    func sameTiming(backend: TestBackend) async throws {
        // Strong parameters make scrypt dominate, so a skipped hash would show as a large gap.
        try await AuthFixture.run(backend, overrides: ["auth.scrypt-log-n": "14", "auth.hash-threads": "1"]) { auth in
            try await auth.signUp("ada@example.com")
            let clock = ContinuousClock()
            var wrong: [Duration] = []
            var unknown: [Duration] = []
            for index in 0..<5 {
                wrong.append(await clock.measure {
                    _ = await failure { try await auth.logIn("ada@example.com", password: "Wrong-Password-\(index)") }
                })
                unknown.append(await clock.measure {
                    _ = await failure { try await auth.logIn("nobody\(index)@example.com", password: "Wrong-Password-1") }
                })
            }
            func seconds(_ d: Duration) -> Double { Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18 }
            // The fastest of each: load on the machine only ever adds time, so minimums compare the
            // work itself. A skipped hash would be some thirty times faster, far outside these bounds.
            let fastestWrong = wrong.min()!, fastestUnknown = unknown.min()!  // '!' is fine: five samples each.
            let ratio = seconds(fastestWrong) / seconds(fastestUnknown)
            #expect(ratio > 0.33 && ratio < 3.0, "wrong password \(fastestWrong), unknown email \(fastestUnknown)")
        }
    }

    @Test("repeated failures lock the address with 429 and a retry hint, even for the right password",
          arguments: TestBackend.available)
    func throttles(backend: TestBackend) async throws {
        try await AuthFixture.run(backend, overrides: ["auth.login-max-failures": "3"]) { auth in
            try await auth.signUp("ada@example.com")
            for _ in 0..<3 {
                let failed = await failure { try await auth.logIn("ada@example.com", password: "Wrong-Password-1") }
                #expect(failed?.reason == "INVALID_CREDENTIALS")
            }
            let locked = await failure { try await auth.logIn("ada@example.com") }
            #expect(locked?.code == .resourceExhausted)
            #expect(locked?.reason == "TOO_MANY_ATTEMPTS")
            let retryAfter = try #require(locked?.retryAfter.flatMap(Int.init))
            #expect(retryAfter > 0 && retryAfter <= 900)
            // Another account is not affected.
            try await auth.signUp("grace@example.com")
            _ = try await auth.logIn("grace@example.com")
        }
    }

    @Test("failures arriving at once are all counted", arguments: TestBackend.available)
    func concurrentFailures(backend: TestBackend) async throws {
        try await AuthFixture.run(backend, overrides: ["auth.login-max-failures": "6"]) { auth in
            try await auth.signUp("ada@example.com")
            await withTaskGroup(of: Void.self) { group in
                for _ in 0..<6 {
                    group.addTask { _ = await failure { try await auth.logIn("ada@example.com", password: "Wrong-Password-1") } }
                }
            }
            let locked = await failure { try await auth.logIn("ada@example.com") }
            #expect(locked?.code == .resourceExhausted)
        }
    }

    @Test("addresses without an account are throttled alike, so a lockout reveals nothing", arguments: TestBackend.available)
    func throttlesUnknown(backend: TestBackend) async throws {
        try await AuthFixture.run(backend, overrides: ["auth.login-max-failures": "2"]) { auth in
            for _ in 0..<2 { _ = await failure { try await auth.logIn("ghost@example.com", password: "Wrong-Password-1") } }
            let locked = await failure { try await auth.logIn("ghost@example.com", password: "Wrong-Password-1") }
            #expect(locked?.code == .resourceExhausted)
        }
    }

    @Test("a success clears earlier failures", arguments: TestBackend.available)
    func successResets(backend: TestBackend) async throws {
        try await AuthFixture.run(backend, overrides: ["auth.login-max-failures": "3"]) { auth in
            try await auth.signUp("ada@example.com")
            for _ in 0..<2 { _ = await failure { try await auth.logIn("ada@example.com", password: "Wrong-Password-1") } }
            _ = try await auth.logIn("ada@example.com")
            for _ in 0..<2 { _ = await failure { try await auth.logIn("ada@example.com", password: "Wrong-Password-1") } }
            _ = try await auth.logIn("ada@example.com")
        }
    }

    @Test("login can require a verified email (403), checked only after the password", arguments: TestBackend.available)
    func requiresVerification(backend: TestBackend) async throws {
        try await AuthFixture.run(backend, overrides: ["auth.require-verified-email": "true"]) { auth in
            try await auth.signUp("ada@example.com")
            let unverified = await failure { try await auth.logIn("ada@example.com") }
            #expect(unverified?.code == .permissionDenied)
            #expect(unverified?.reason == "EMAIL_NOT_VERIFIED")
            let wrong = await failure { try await auth.logIn("ada@example.com", password: "Wrong-Password-1") }
            #expect(wrong?.reason == "INVALID_CREDENTIALS")
            let token = try #require(try await auth.mailedToken(to: "ada@example.com", kind: "verify_email"))
            _ = try await auth.client.verifyEmail(.with { $0.token = token }, metadata: try auth.asService)
            _ = try await auth.logIn("ada@example.com")
        }
    }

    @Test("a hash made with weaker parameters is upgraded at the next login", arguments: TestBackend.available)
    func upgradesHash(backend: TestBackend) async throws {
        try await AuthFixture.run(backend) { auth in
            try await auth.signUp("ada@example.com")
        }
        // The same database with stronger parameters: a second stack over one SQLite directory
        // is what `raise the parameters and restart` means in production.
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("atelier-upgrade-\(SecureRandom.hex(4))").path
        let base = backend == .sqlite ? ["data-dir": directory]
            : ["database.url": TestBackend.postgresURL ?? "", "database.schema-prefix": "u\(SecureRandom.hex(4))_"]
        try await TestStack.with(backend, services: [.auth], overrides: base) { stack in
            try await stack.withClient(.auth) { grpc in
                let auth = AuthFixture(stack: stack, client: AuthClient(wrapping: grpc))
                try await auth.signUp("ada@example.com")
            }
        }
        try await TestStack.with(backend, services: [.auth], overrides: base.merging(["auth.scrypt-log-n": "11"]) { $1 }) { stack in
            try await stack.withClient(.auth) { grpc in
                let auth = AuthFixture(stack: stack, client: AuthClient(wrapping: grpc))
                _ = try await auth.logIn("ada@example.com")
                let row = try await stack.database(.auth).first("SELECT password_hash FROM users WHERE email = 'ada@example.com'")
                #expect(try row?.string("password_hash").hasPrefix("$scrypt$ln=11,") == true)
                _ = try await auth.logIn("ada@example.com")
            }
        }
    }
}
