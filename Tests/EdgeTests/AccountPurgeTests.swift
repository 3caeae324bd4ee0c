import AtelierProtos
import AtelierTestSupport
@testable import Edge
import Foundation
import ServiceKit
import GRPCCore
import Synchronization
import Testing

@Suite("Purges after account deletion")
struct AccountPurgeTests {
    @Test("a purge is asked again while it fails as unavailable, three times in all, and never for other failures")
    func retries() async throws {
        let calls = Atomic(0)
        let value = try await AccountPurger.retrying(pause: .milliseconds(1)) {
            if calls.add(1, ordering: .relaxed).newValue < 3 { throw RPCError(code: .unavailable, message: "provider down") }
            return "purged"
        }
        #expect(value == "purged" && calls.load(ordering: .relaxed) == 3)

        calls.store(0, ordering: .relaxed)
        await #expect(throws: RPCError.self) {
            try await AccountPurger.retrying(pause: .milliseconds(1)) {
                calls.add(1, ordering: .relaxed)
                throw RPCError(code: .unavailable, message: "down")
            }
        }
        #expect(calls.load(ordering: .relaxed) == 3, "gives up after three")

        for code in [RPCError.Code.invalidArgument, .deadlineExceeded] {
            calls.store(0, ordering: .relaxed)
            await #expect(throws: RPCError.self) {
                try await AccountPurger.retrying(pause: .milliseconds(1)) {
                    calls.add(1, ordering: .relaxed)
                    throw RPCError(code: code, message: "no")
                }
            }
            #expect(calls.load(ordering: .relaxed) == 1, "\(code) is not retried")
        }
    }

    @Test("with commerce down, deleting the account still succeeds and the catalog is purged", arguments: [TestBackend.sqlite])
    func commerceDown(backend: TestBackend) async throws {
        try await TestStack.with(backend, services: [.auth, .catalog], edge: true,
                                 overrides: ["commerce.port": "1", "edge.call-timeout-seconds": Self.commerceDownDeadline]) { stack in
            let (token, userID) = try await stack.signUp("leaving@example.com")
            let hero = try await stack.http("POST", "/api/heroes", json: ["name": "Alice", "age": 7, "traits": ["brave"], "appearance": "x"],
                                            token: token)
            #expect(hero.status == 201, "\(hero.text)")
            let deleted = try await stack.http("DELETE", "/api/user/account", json: ["password": "Quiet-River-42"], token: token)
            #expect(deleted.status == 200, "\(deleted.text)")
            #expect(try await stack.database(.catalog).count("SELECT COUNT(*) AS n FROM heroes WHERE user_id = \(userID)") == 0)
            #expect(try await stack.http("GET", "/api/heroes", token: token).status == 401)
        }
    }

    @Test("a purge cut short by a service that was down is finished by the sweep once it is back", arguments: TestBackend.available)
    func sweepFinishes(backend: TestBackend) async throws {
        let commercePort = try await TestStack.unusedPort()
        try await TestStack.with(backend, services: [.auth, .catalog, .generation], edge: true, overrides: [
            "commerce.port": String(commercePort), "edge.call-timeout-seconds": Self.commerceDownDeadline,
        ].merging(Self.quickSweeps) { $1 }) { stack in
            let (token, userID) = try await stack.signUp("leaving@example.com")
            let deleted = try await stack.http("DELETE", "/api/user/account", json: ["password": "Quiet-River-42"], token: token)
            #expect(deleted.status == 200, "\(deleted.text)")
            let awaiting = { (user: String) -> SQL in "SELECT COUNT(*) AS n FROM account_purges WHERE user_id = \(user)" }
            #expect(try await stack.database(.auth).count(awaiting(userID)) == 1, "commerce could not be purged yet")

            try await stack.withLateService(.commerce, port: commercePort) { commerce async throws in
                #expect(try await Self.purgeCompletes(stack, userID), "the sweep finished the purge")
                #expect(try await commerce.database.count("SELECT COUNT(*) AS n FROM closed_accounts WHERE user_id = \(userID)") == 1, "commerce closed the account")
            }
        }
    }

    @Test("a file the blob store could not remove stays recorded, and the sweep removes it once the store is back",
          arguments: [TestBackend.sqlite])
    func sweepRemovesFiles(backend: TestBackend) async throws {
        let store = await FlakyBucket.start(bucket: "purges")
        do {
            try await sweepRemovesFiles(backend: backend, store: store)
            await store.stop()
        } catch {
            await store.stop()
            throw error
        }
    }

    private func sweepRemovesFiles(backend: TestBackend, store: FlakyBucket) async throws {
        try await TestStack.with(backend, edge: true, overrides: [
            "blobs.store": "s3", "blobs.s3.endpoint": "http://127.0.0.1:\(store.port)", "blobs.s3.bucket": "purges",
            "blobs.s3.access-key": "test", "blobs.s3.secret-key": "test-secret",
        ].merging(Self.quickSweeps) { $1 }) { stack in
            let (token, userID) = try await stack.signUp("leaving@example.com")
            let upload = try await stack.http("POST", "/api/files/upload", json: [
                "fileName": "p.webp", "mimeType": "image/webp", "fileSize": 300, "category": "pictogram",
            ], token: token)
            let key = try #require(upload.json["storageKey"] as? String, "\(upload.text)")
            let deleted = try await stack.http("DELETE", "/api/user/account", json: ["password": "Quiet-River-42"], token: token)
            #expect(deleted.status == 200, "\(deleted.text)")
            let recorded = { (user: String) -> SQL in "SELECT COUNT(*) AS n FROM file_uploads WHERE user_id = \(user)" }
            let awaiting = { (user: String) -> SQL in "SELECT COUNT(*) AS n FROM account_purges WHERE user_id = \(user)" }
            #expect(try await stack.database(.catalog).count(recorded(userID)) == 1, "the file is still named")
            #expect(try await stack.database(.auth).count(awaiting(userID)) == 1, "the purge is not complete")

            store.recover()
            #expect(try await Self.purgeCompletes(stack, userID), "the sweep finished the purge")
            #expect(try await stack.database(.catalog).count(recorded(userID)) == 0)
            #expect(store.deleted.contains(key), "\(store.deleted)")
        }
    }

    @Test("a write signed before the deletion that lands after the first purge is removed by the purge that completes it",
          arguments: TestBackend.available)
    func lateWrite(backend: TestBackend) async throws {
        try await TestStack.with(backend, edge: true, overrides: Self.quickSweeps) { stack in
            let (token, userID) = try await stack.signUp("leaving@example.com")
            let deleted = try await stack.http("DELETE", "/api/user/account", json: ["password": "Quiet-River-42"], token: token)
            #expect(deleted.status == 200, "\(deleted.text)")
            // A principal signed before the deletion, still valid: a request in flight, or one
            // through another edge that had the session cached.
            // (A sweep may purge it at once; what matters is that none can complete before it lands.)
            let late = try await stack.withClient(.catalog) { grpc in
                try await Atelier_Catalog_V1_CatalogService.Client(wrapping: grpc).createCharacter(
                    .with { $0.character = .with { $0.name = "Late"; $0.isPublic = true } },
                    metadata: try stack.userMetadata(id: userID, sessionID: "before-deletion")).character
            }
            #expect(!late.id.isEmpty)
            let kept = { (user: String) -> SQL in "SELECT COUNT(*) AS n FROM characters WHERE user_id = \(user)" }
            #expect(try await Self.purgeCompletes(stack, userID))
            #expect(try await stack.database(.catalog).count(kept(userID)) == 0, "the late character went too")
            #expect(try await stack.http("GET", "/api/explore").list("characters").isEmpty, "and left explore")
        }
    }

    /// Every call to a missing commerce waits out the deadline (the edge waits for a service that
    /// may be starting), so it is shorter than the usual 10 s; but a busy machine running every
    /// suite at once has stalled other calls (a sign-up, to auth) past 5 s.
    static let commerceDownDeadline = "15"

    /// Sweeps every second, and principals (so the wait before a purge completes) of 30 s, the
    /// shortest the edge allows: its session cache is off.
    static let quickSweeps = [
        "edge.purge-sweep-seconds": "1", "edge.session-cache-seconds": "0", "edge.principal-seconds": "10", "blobs.upload-seconds": "2",
    ]

    /// Waits, up to two minutes, until auth no longer holds the deleted account; whether it did.
    static func purgeCompletes(_ stack: TestStack, _ userID: String) async throws -> Bool {
        let awaiting = { (user: String) -> SQL in "SELECT COUNT(*) AS n FROM account_purges WHERE user_id = \(user)" }
        let clock = ContinuousClock()
        let deadline = clock.now + .seconds(120)
        while clock.now < deadline {
            if try await stack.database(.auth).count(awaiting(userID)) == 0 { return true }
            try await Task.sleep(for: .milliseconds(250))
        }
        return false
    }
}
