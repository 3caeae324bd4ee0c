import AtelierTestSupport
@testable import Edge
import Foundation
import GRPCCore
import Synchronization
import Testing

@Suite("Purges after account deletion")
struct PurgeRetryTests {
    @Test("a purge is asked again while it fails as unavailable, three times in all, and never for other failures")
    func retries() async throws {
        let calls = Atomic(0)
        let value = try await AccountData.retrying(pause: .milliseconds(1)) {
            if calls.add(1, ordering: .relaxed).newValue < 3 { throw RPCError(code: .unavailable, message: "provider down") }
            return "purged"
        }
        #expect(value == "purged" && calls.load(ordering: .relaxed) == 3)

        calls.store(0, ordering: .relaxed)
        await #expect(throws: RPCError.self) {
            try await AccountData.retrying(pause: .milliseconds(1)) {
                calls.add(1, ordering: .relaxed)
                throw RPCError(code: .unavailable, message: "down")
            }
        }
        #expect(calls.load(ordering: .relaxed) == 3, "gives up after three")

        for code in [RPCError.Code.invalidArgument, .deadlineExceeded] {
            calls.store(0, ordering: .relaxed)
            await #expect(throws: RPCError.self) {
                try await AccountData.retrying(pause: .milliseconds(1)) {
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
}
