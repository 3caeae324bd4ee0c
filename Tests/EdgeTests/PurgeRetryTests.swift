import AtelierTestSupport
@testable import Edge
import Foundation
import GRPCCore
import Synchronization
import Testing

@Suite("Purges after account deletion")
struct PurgeRetryTests {
    @Test("a purge is asked again while its service is unavailable or slow, three times in all, and never for other failures")
    func retries() async throws {
        let calls = Atomic(0)
        let value = try await AccountData.retrying(pause: .milliseconds(1)) {
            let call = calls.add(1, ordering: .relaxed).newValue
            if call == 1 { throw RPCError(code: .unavailable, message: "restarting") }
            if call == 2 { throw RPCError(code: .deadlineExceeded, message: "slow") }
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

        calls.store(0, ordering: .relaxed)
        await #expect(throws: RPCError.self) {
            try await AccountData.retrying(pause: .milliseconds(1)) {
                calls.add(1, ordering: .relaxed)
                throw RPCError(code: .invalidArgument, message: "bad user id")
            }
        }
        #expect(calls.load(ordering: .relaxed) == 1, "a refusal is not retried")
    }

    @Test("with commerce down, deleting the account still succeeds and the catalog is purged", arguments: [TestBackend.sqlite])
    func commerceDown(backend: TestBackend) async throws {
        try await TestStack.with(backend, services: [.auth, .catalog], edge: true,
                                 overrides: ["commerce.port": "1", "edge.call-timeout-seconds": "1"]) { stack in
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
