import AtelierProtos
import AtelierTestSupport
import Foundation
import GRPCCore
import ServiceKit
import Testing

@Suite("Sign up")
struct SignUpTests {
    @Test("an account is created with a session and a verification message", arguments: TestBackend.available)
    func createsAccount(backend: TestBackend) async throws {
        try await AuthFixture.run(backend) { auth in
            let reply = try await auth.signUp("ada@example.com", name: "Ada Lovelace")
            #expect(reply.user.email == "ada@example.com")
            #expect(reply.user.name == "Ada Lovelace")
            #expect(reply.user.emailVerified == false)
            #expect(reply.user.preferredLanguage == "en")
            #expect(reply.user.themePreference == .system)
            #expect(reply.user.contentFilterLevel == .moderate)
            #expect(reply.user.subscriptionTier == "free")
            #expect(reply.user.id.hasPrefix("user_"))
            #expect(try await auth.mailedToken(to: "ada@example.com", kind: "verify_email") != nil)
        }
    }

    @Test("emails are normalised, so case and spaces do not make a second account", arguments: TestBackend.available)
    func normalisesEmail(backend: TestBackend) async throws {
        try await AuthFixture.run(backend) { auth in
            let reply = try await auth.signUp("  Grace.Hopper@Example.COM ")
            #expect(reply.user.email == "grace.hopper@example.com")
            let again = await failure { try await auth.signUp("grace.hopper@example.com") }
            #expect(again?.code == .alreadyExists)
            #expect(again?.reason == "EMAIL_TAKEN")
            #expect(again?.field == "email")
            _ = try await auth.logIn("GRACE.HOPPER@example.com")
        }
    }

    @Test("a malformed email is refused naming the field", arguments: TestBackend.available)
    func refusesBadEmail(backend: TestBackend) async throws {
        try await AuthFixture.run(backend) { auth in
            for email in ["", "plainaddress", "a@b", "a@@b.com", "a b@c.com", "a@b..com", "@example.com", "a@.example.com",
                          String(repeating: "a", count: 250) + "@example.com"] {
                let refused = await failure { try await auth.signUp(email) }
                #expect(refused?.code == .invalidArgument, "\(email)")
                #expect(refused?.field == "email", "\(email)")
            }
        }
    }

    @Test("passwords need 8 to 128 characters, an uppercase letter and a digit, and must not be common",
          arguments: TestBackend.available)
    func passwordRules(backend: TestBackend) async throws {
        try await AuthFixture.run(backend) { auth in
            let cases: [(String, String)] = [
                ("Short1A", "at least 8"),
                (String(repeating: "Aa1", count: 43), "at most 128"),  // 129 characters
                ("lowercase-only-42", "uppercase"),
                ("No-Digits-Here", "digit"),
                ("Password1", "too common"),
                ("Qwerty123", "too common"),
            ]
            for (index, (password, problem)) in cases.enumerated() {
                let refused = await failure { try await auth.signUp("p\(index)@example.com", password: password) }
                #expect(refused?.code == .invalidArgument, "\(password)")
                #expect(refused?.field == "password", "\(password)")
                #expect(refused?.message.contains(problem) == true, "\(password): \(refused?.message ?? "accepted")")
            }
            // Exactly 128 characters is allowed, and every character counts: nothing is truncated.
            let long = String(repeating: "Ab3-", count: 32)
            #expect(long.count == 128)
            try await auth.signUp("long@example.com", password: long)
            _ = try await auth.logIn("long@example.com", password: long)
            let prefix = await failure { try await auth.logIn("long@example.com", password: String(long.prefix(72))) }
            #expect(prefix?.reason == "INVALID_CREDENTIALS")
            let lastChanged = await failure { try await auth.logIn("long@example.com", password: String(long.dropLast()) + "x") }
            #expect(lastChanged?.reason == "INVALID_CREDENTIALS")
        }
    }

    @Test("a name longer than 100 characters is refused", arguments: TestBackend.available)
    func refusesLongName(backend: TestBackend) async throws {
        try await AuthFixture.run(backend) { auth in
            let refused = await failure { try await auth.signUp("n@example.com", name: String(repeating: "n", count: 101)) }
            #expect(refused?.field == "name")
            try await auth.signUp("m@example.com", name: String(repeating: "m", count: 100))
        }
    }

    @Test("the password is stored as an scrypt hash that records its parameters, never as text",
          arguments: TestBackend.available)
    func storesHashOnly(backend: TestBackend) async throws {
        try await AuthFixture.run(backend) { auth in
            try await auth.signUp("hash@example.com", password: "Quiet-River-42")
            let row = try await auth.stack.database(.auth).first(
                "SELECT password_hash FROM users WHERE email = \("hash@example.com")")
            let hash = try #require(try row?.string("password_hash"))
            #expect(hash.hasPrefix("$scrypt$ln=10,r=8,p=1$"))
            #expect(!hash.contains("Quiet-River-42"))
        }
    }
}
