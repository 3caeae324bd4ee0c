import AtelierTestSupport
@testable import Edge
import Foundation
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
        // Every call to the missing commerce waits out the deadline (the edge waits for a service
        // that may be starting), so it is short; but not so short that a sign-up's password hash,
        // on a machine busy with the other tests, runs past it.
        try await TestStack.with(backend, services: [.auth, .catalog], edge: true,
                                 overrides: ["commerce.port": "1", "edge.call-timeout-seconds": "5"]) { stack in
            let (token, userID) = try await stack.signUp("leaving@example.com")
            let hero = try await stack.http("POST", "/api/heroes", json: ["name": "Alice", "age": 7, "traits": ["brave"], "appearance": "x"],
                                            token: token)
            #expect(hero.status == 201, "\(hero.text)")
            let deleted = try await stack.http("DELETE", "/api/user/account", json: ["password": "Quiet-River-42"], token: token)
            #expect(deleted.status == 200, "\(deleted.text)")
            #expect(try await stack.database(.catalog).count("SELECT COUNT(*) AS n FROM heroes WHERE user_id = $1", [.text(userID)]) == 0)
            #expect(try await stack.http("GET", "/api/heroes", token: token).status == 401)
        }
    }

    @Test("a purge cut short by a service that was down is finished by the sweep once it is back", arguments: TestBackend.available)
    func sweepFinishes(backend: TestBackend) async throws {
        let commercePort = try await TestStack.unusedPort()
        try await TestStack.with(backend, services: [.auth, .catalog], edge: true, overrides: [
            "commerce.port": String(commercePort), "edge.call-timeout-seconds": "5", "edge.purge-sweep-seconds": "1",
        ]) { stack in
            let (token, userID) = try await stack.signUp("leaving@example.com")
            let deleted = try await stack.http("DELETE", "/api/user/account", json: ["password": "Quiet-River-42"], token: token)
            #expect(deleted.status == 200, "\(deleted.text)")
            let awaiting = "SELECT COUNT(*) AS n FROM account_purges WHERE user_id = $1"
            #expect(try await stack.database(.auth).count(awaiting, [.text(userID)]) == 1, "commerce could not be purged yet")

            try await stack.withLateService(.commerce, port: commercePort) { commerce in
                // The sweep runs every second and pauses 1, 2, 4 ... seconds between tries.
                let clock = ContinuousClock()
                let deadline = clock.now + .seconds(90)
                while try await stack.database(.auth).count(awaiting, [.text(userID)]) > 0, clock.now < deadline {
                    try await Task.sleep(for: .milliseconds(200))
                }
                #expect(try await stack.database(.auth).count(awaiting, [.text(userID)]) == 0, "the sweep finished the purge")
                #expect(try await commerce.database.count("SELECT COUNT(*) AS n FROM closed_accounts WHERE user_id = $1",
                                                          [.text(userID)]) == 1, "commerce closed the account")
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
            "blobs.s3.access-key": "test", "blobs.s3.secret-key": "test-secret", "edge.purge-sweep-seconds": "1",
        ]) { stack in
            let (token, userID) = try await stack.signUp("leaving@example.com")
            let upload = try await stack.http("POST", "/api/files/upload", json: [
                "fileName": "p.webp", "mimeType": "image/webp", "fileSize": 300, "category": "pictogram",
            ], token: token)
            let key = try #require(upload.json["storageKey"] as? String, "\(upload.text)")
            let deleted = try await stack.http("DELETE", "/api/user/account", json: ["password": "Quiet-River-42"], token: token)
            #expect(deleted.status == 200, "\(deleted.text)")
            let recorded = "SELECT COUNT(*) AS n FROM file_uploads WHERE user_id = $1"
            let awaiting = "SELECT COUNT(*) AS n FROM account_purges WHERE user_id = $1"
            #expect(try await stack.database(.catalog).count(recorded, [.text(userID)]) == 1, "the file is still named")
            #expect(try await stack.database(.auth).count(awaiting, [.text(userID)]) == 1, "the purge is not complete")

            store.recover()
            let clock = ContinuousClock()
            let deadline = clock.now + .seconds(60)
            while try await stack.database(.auth).count(awaiting, [.text(userID)]) > 0, clock.now < deadline {
                try await Task.sleep(for: .milliseconds(200))
            }
            #expect(try await stack.database(.auth).count(awaiting, [.text(userID)]) == 0, "the sweep finished the purge")
            #expect(try await stack.database(.catalog).count(recorded, [.text(userID)]) == 0)
            #expect(store.deleted.contains(key), "\(store.deleted)")
        }
    }
}
