import AtelierProtos
import AtelierTestSupport
import GRPCCore
import ServiceKit
import Testing

@Suite("Profile and account")
struct ProfileTests {
    @Test("a PATCH changes only the fields it names", arguments: TestBackend.available)
    func updatesProfile(backend: TestBackend) async throws {
        try await AuthFixture.run(backend) { auth in
            let user = try await auth.asUser(try await auth.signUp("ada@example.com", name: "Ada"))
            let updated = try await auth.client.updateProfile(.with {
                $0.preferredLanguage = "ES"
                $0.themePreference = .dark
            }, metadata: user)
            #expect(updated.user.name == "Ada")
            #expect(updated.user.preferredLanguage == "es")
            #expect(updated.user.themePreference == .dark)
            #expect(updated.user.contentFilterLevel == .moderate)
            let filtered = try await auth.client.updateProfile(.with { $0.contentFilterLevel = .strict; $0.name = "  Ada L  " }, metadata: user)
            #expect(filtered.user.themePreference == .dark)
            #expect(filtered.user.contentFilterLevel == .strict)
            #expect(filtered.user.name == "Ada L")
            let cleared = try await auth.client.updateProfile(.with { $0.name = "" }, metadata: user)
            #expect(!cleared.user.hasName)
            let read = try await auth.client.getProfile(.init(), metadata: user)
            #expect(read.user.preferredLanguage == "es")
            #expect(read.user.updatedAt.date >= read.user.createdAt.date)
        }
    }

    @Test("profile values are checked, naming the field", arguments: TestBackend.available)
    func validatesProfile(backend: TestBackend) async throws {
        try await AuthFixture.run(backend) { auth in
            let user = try await auth.asUser(try await auth.signUp("ada@example.com"))
            let language = await failure { try await auth.client.updateProfile(.with { $0.preferredLanguage = "xx" }, metadata: user) }
            #expect(language?.field == "preferredLanguage")
            let name = await failure { try await auth.client.updateProfile(.with { $0.name = String(repeating: "x", count: 101) }, metadata: user) }
            #expect(name?.field == "name")
            let theme = await failure { try await auth.client.updateProfile(.with { $0.themePreference = .UNRECOGNIZED(9) }, metadata: user) }
            #expect(theme?.field == "themePreference")
        }
    }

    @Test("deleting the account needs the password and removes the user and every session",
          arguments: TestBackend.available)
    func deletesAccount(backend: TestBackend) async throws {
        try await AuthFixture.run(backend) { auth in
            let signUp = try await auth.signUp("ada@example.com")
            let other = try await auth.logIn("ada@example.com")
            let user = try await auth.asUser(signUp)
            let wrong = await failure { try await auth.client.deleteAccount(.with { $0.password = "Wrong-Password-1" }, metadata: user) }
            #expect(wrong?.code == .permissionDenied)
            #expect(wrong?.reason == "WRONG_PASSWORD")
            let missing = await failure { try await auth.client.deleteAccount(.init(), metadata: user) }
            #expect(missing?.field == "password")
            _ = try await auth.client.deleteAccount(.with { $0.password = "Quiet-River-42" }, metadata: user)
            for reply in [signUp, other] {
                let gone = await failure {
                    try await auth.client.validateSession(.with { $0.token = reply.session.token }, metadata: try auth.asService)
                }
                #expect(gone?.code == .unauthenticated)
            }
            let database = auth.stack.database(.auth)
            #expect(try await database.query("SELECT id FROM users").isEmpty)
            #expect(try await database.query("SELECT id FROM sessions").isEmpty)
            // The address is free again.
            try await auth.signUp("ada@example.com")
        }
    }
}
