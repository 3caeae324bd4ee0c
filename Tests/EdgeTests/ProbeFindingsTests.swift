import AtelierProtos
import AtelierTestSupport
import AuthService
import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import Logging
import ServiceKit
import Testing

/// What an outside probe of `atelier dev` found, each pinned by a test that failed before its fix.
@Suite("Findings of the outside probe")
struct ProbeFindingsTests {
    /// Metadata carrying a back-office credential issued (and recorded) as `atelier credential` does.
    static func credential(_ stack: TestStack, roles: [String]) async throws -> (id: String, metadata: Metadata) {
        let issued = try await ServiceCredentials.issue(
            name: "probe", roles: roles, lifetime: .seconds(3600), signer: stack.signer, database: stack.database(.auth),
            schema: ServiceDatabase.schema(service: "auth", configuration: stack.configuration), logger: Logger(label: "test"))
        var metadata = Metadata()
        metadata.addString(issued.token, forKey: PrincipalInterceptor.metadataKey)
        return (issued.id, metadata)
    }

    @Test("a credential's roles decide what it may call: readonly cannot grant, purge or export", arguments: [TestBackend.sqlite])
    func roles(backend: TestBackend) async throws {
        try await TestStack.with(backend, services: [.auth, .catalog, .commerce]) { stack in
            let readonly = try await Self.credential(stack, roles: ["readonly"]).metadata
            let granted = await failure {
                try await stack.withClient(.commerce) { grpc in
                    try await Atelier_Commerce_V1_CommerceService.Client(wrapping: grpc).grant(.with {
                        $0.userID = "user_1"; $0.asset = "credits"; $0.amount = 1_000_000; $0.source = "admin"; $0.idempotencyKey = "k"
                    }, metadata: readonly)
                }
            }
            #expect(granted?.code == .permissionDenied && granted?.reason == "ROLE_REQUIRED")
            try await stack.withClient(.catalog) { grpc in
                let catalog = Atelier_Catalog_V1_CatalogService.Client(wrapping: grpc)
                let purge = await failure { try await catalog.purgeUser(.with { $0.userID = "user_1" }, metadata: readonly) }
                #expect(purge?.code == .permissionDenied)
                let export = await failure { try await catalog.exportUser(.with { $0.userID = "user_1" }, metadata: readonly) }
                #expect(export?.code == .permissionDenied)
                let admin = try await Self.credential(stack, roles: ["admin"]).metadata
                _ = try await catalog.exportUser(.with { $0.userID = "user_1" }, metadata: admin)
            }
        }
    }

    @Test("a revoked credential is refused by every service before it expires", arguments: TestBackend.available)
    func revocation(backend: TestBackend) async throws {
        try await TestStack.with(backend, services: [.auth, .catalog], overrides: ["credentials.cache-seconds": "0"]) { stack in
            let (id, admin) = try await Self.credential(stack, roles: ["admin"])
            try await stack.withClient(.catalog) { grpc in
                let catalog = Atelier_Catalog_V1_CatalogService.Client(wrapping: grpc)
                _ = try await catalog.exportUser(.with { $0.userID = "user_1" }, metadata: admin)
                let revoked = try await ServiceCredentials.revoke(
                    id: id, database: stack.database(.auth), schema: ServiceDatabase.schema(service: "auth", configuration: stack.configuration),
                    logger: Logger(label: "test"))
                #expect(revoked)
                let refused = await failure { try await catalog.exportUser(.with { $0.userID = "user_1" }, metadata: admin) }
                #expect(refused?.code == .unauthenticated && refused?.reason == "CREDENTIAL_REVOKED")
            }
            try await stack.withClient(.auth) { grpc in
                let refused = await failure {
                    try await Atelier_Auth_V1_AuthService.Client(wrapping: grpc).claimAccountPurges(.init(), metadata: admin)
                }
                #expect(refused?.reason == "CREDENTIAL_REVOKED")
            }
        }
    }

    @Test("explore shows public fields only: no favourite mark, no reference photo", arguments: [TestBackend.sqlite])
    func explorePublicFields(backend: TestBackend) async throws {
        try await TestStack.with(backend, edge: true) { stack in
            let (token, _) = try await stack.signUp("owner@example.com")
            let created = try await stack.http("POST", "/api/characters", json: [
                "name": "Aria", "isPublic": true, "isFavorite": true, "referenceImageUrl": "https://example.com/me.jpg",
            ], token: token)
            #expect(created.status == 201, "\(created.text)")
            let explored = try await stack.http("GET", "/api/explore")
            let shown = try #require(explored.list("characters").first)
            #expect(shown["name"] as? String == "Aria")
            #expect(shown["isFavorite"] as? Bool == false)
            #expect(shown["referenceImageUrl"] is NSNull)
            let own = try await stack.http("GET", "/api/characters", token: token).list("characters").first
            #expect(own?["isFavorite"] as? Bool == true, "the owner still sees their own")
        }
    }

    @Test("a password reset through an edge ends the sessions that edge holds at once", arguments: [TestBackend.sqlite])
    func resetEvictsCache(backend: TestBackend) async throws {
        try await TestStack.with(backend, edge: true, overrides: ["edge.session-cache-seconds": "30"]) { stack in
            let (token, _) = try await stack.signUp("ada@example.com")
            #expect(try await stack.http("GET", "/api/auth/me", token: token).status == 200)
            _ = try await stack.http("POST", "/api/auth/reset-password", json: ["email": "ada@example.com"])
            let reset = try #require(try await stack.mailedToken(to: "ada@example.com", kind: "reset_password"))
            let confirmed = try await stack.http("POST", "/api/auth/reset-password/confirm", json: ["token": reset, "password": "New-Harbor-77"])
            #expect(confirmed.status == 200, "\(confirmed.text)")
            #expect(try await stack.http("GET", "/api/auth/me", token: token).status == 401)
        }
    }

    @Test("the right password gets in from a fresh address while another address fails again and again",
          arguments: TestBackend.available)
    func noLockout(backend: TestBackend) async throws {
        try await TestStack.with(backend, edge: true, overrides: ["edge.trusted-proxies": "1"]) { stack in
            _ = try await stack.signUp("ada@example.com")
            func login(_ password: String, from address: String) async throws -> HTTPReply {
                try await stack.http("POST", "/api/auth/login", json: ["email": "ada@example.com", "password": password],
                                     headers: ["X-Forwarded-For": address])
            }
            var statuses: [Int] = []
            for _ in 0..<6 { statuses.append(try await login("Wrong-Password-1", from: "203.0.113.9").status) }
            #expect(statuses == [401, 401, 401, 401, 401, 429])
            #expect(try await login("Quiet-River-42", from: "198.51.100.7").status == 200, "the owner, elsewhere, gets in")
            #expect(try await login("Quiet-River-42", from: "203.0.113.9").status == 429, "the guessing address stays locked")
        }
    }

    @Test("numbers out of range name their field; commerce lists cap the offset", arguments: [TestBackend.sqlite])
    func ranges(backend: TestBackend) async throws {
        try await TestStack.with(backend, edge: true) { stack in
            let (token, _) = try await stack.signUp("ada@example.com")
            let hero = try await stack.http("POST", "/api/heroes", json: [
                "name": "Ada", "age": 99_999_999_999, "traits": ["brave"], "appearance": "tall",
            ], token: token)
            #expect(hero.status == 400 && hero.errorField == "age", "\(hero.text)")
            let deep = try await stack.http("GET", "/api/heroes?limit=99999999999", token: token)
            #expect(deep.status == 400 && deep.errorField == "limit")
            for path in ["/api/wallet/ledger", "/api/payments/billing-history"] {
                let capped = try await stack.http("GET", "\(path)?offset=100001", token: token)
                #expect(capped.status == 400 && capped.errorField == "offset", "\(path): \(capped.text)")
            }
        }
    }

    @Test("SQLite files are readable by their owner only", arguments: [TestBackend.sqlite])
    func privateFiles(backend: TestBackend) async throws {
        try await TestStack.with(backend, services: [.auth]) { stack in
            let directory = try #require(stack.configuration.string("data-dir"))
            let attributes = try FileManager.default.attributesOfItem(atPath: "\(directory)/auth.sqlite")
            #expect((attributes[.posixPermissions] as? NSNumber)?.intValue == 0o600)
        }
    }

    @Test("without SMTP the log is the delivery: the outbox keeps no working link", arguments: [TestBackend.sqlite])
    func outboxKeepsNoLinks(backend: TestBackend) async throws {
        try await TestStack.with(backend, edge: true, mail: false) { stack in
            _ = try await stack.signUp("ada@example.com")
            _ = try await stack.http("POST", "/api/auth/reset-password", json: ["email": "ada@example.com"])
            let rows = try await stack.database(.auth).query("SELECT body, sent_at FROM mail_outbox")
            #expect(rows.count == 2)
            for row in rows {
                #expect(try row.string("body").isEmpty)
                #expect(try row.optionalInt("sent_at") != nil)
            }
        }
    }
}
